"""Load every tiny checkpoint with mlx-lm, generate from it, and write its oracle dump.

  python tools/checkpoints/smoke.py [--out DIR] [--only NAME ...] [--prompts FILE]

For each <out>/<name>/<variant> this runs tools/oracle/dump.py (full forward + 32 greedy tokens
for each prompt) into <out>/oracle/<name>-<variant>.{safetensors,json}, then checks:
  - logits are not degenerate (row std > 0.05, rows differ across positions);
  - cached greedy generation equals the argmax of a full forward pass (fp32 only:
    in bf16 and quantized models near-ties may flip, that is reported, not failed);
  - bf16 / q8 / q4 stay close to fp32 (reported: max |logit diff| on the last row,
    share of prompt positions whose argmax agrees with fp32).
Writes <out>/smoke.json and prints a Markdown table. Dumps already made with the same
checkpoint stamp, prompts and scripts are reused. Exit status 1 if any check fails.
"""

import argparse
import hashlib
import os
import json
import sys
import time
from pathlib import Path

import mlx.core as mx
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from families import FAMILIES, VARIANTS  # noqa: E402
from make_checkpoints import DEFAULT_OUT  # noqa: E402

from tools.oracle import dump as oracle_dump  # noqa: E402
from tools.oracle.arrays import write_arrays  # noqa: E402

# The oracle modules whose code decides what a dump holds.
DUMP_SOURCES = [REPO / "tools" / "oracle" / "dump.py", REPO / "tools" / "oracle" / "loading.py"]


def dump_stamp(root: Path, prompts_text: str) -> str:
    h = hashlib.sha256((root / ".stamp").read_bytes())
    for source in DUMP_SOURCES:
        h.update(source.read_bytes())
    h.update(prompts_text.encode())
    # Which GEMM serves fp32 products changes fp32 logits in the last bits (summation order).
    h.update(os.path.basename(os.environ.get("LD_PRELOAD", "")).encode())
    return h.hexdigest()[:16]


def run_one(ckpt: Path, out: Path, prompts: list, stamp: str, max_tokens: int) -> dict:
    meta = Path(str(out) + ".json")
    if meta.exists():
        report = json.loads(meta.read_text(encoding="utf-8"))
        if report.get("stamp") == stamp:
            return report
    t = time.time()
    arrays, report = oracle_dump.dump(ckpt, prompts, max_tokens, full=False)
    report["stamp"] = stamp
    report["seconds"] = round(time.time() - t, 2)
    write_arrays(out, arrays, report)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--prompts", type=Path, default=oracle_dump.DEFAULT_PROMPTS)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args(argv)

    out = args.out.resolve()
    prompts_text = args.prompts.read_text(encoding="utf-8")
    prompts = json.loads(prompts_text)["prompts"]
    rows, failures = [], []
    start = time.time()
    for fam in FAMILIES:
        name = fam["name"]
        if args.only and name not in args.only:
            continue
        root = out / name
        if not (root / ".stamp").exists():
            failures.append(f"{name}: not built")
            continue
        stamp = dump_stamp(root, prompts_text)
        ref = None
        for variant in fam.get("variants", VARIANTS):
            dump_path = out / "oracle" / f"{name}-{variant}"
            try:
                report = run_one(root / variant, dump_path, prompts, stamp, args.max_tokens)
            except Exception as e:  # report every checkpoint, fail at the end
                failures.append(f"{name}/{variant}: {type(e).__name__}: {e}")
                rows.append({"name": name, "variant": variant, "loaded": False})
                continue
            arrays = mx.load(str(dump_path) + ".safetensors")
            row = {"name": name, "variant": variant, "loaded": True,
                   "seconds": report.get("seconds")}
            gen = [p["generated"] for p in report["prompts"]]
            row["generated"] = all(len(g) == args.max_tokens for g in gen)
            row["distinct_generated"] = [len(set(g)) for g in gen]
            row["cache_vs_full"] = [p["cache_matches_full_forward"] for p in report["prompts"]]
            row["logit_std_min"] = round(min(p["logit_std_min"] for p in report["prompts"]), 3)
            row["position_rows_differ"] = all(
                p["max_position_row_diff"] > 1e-3 for p in report["prompts"] if len(p["tokens"]) > 1
            )
            if variant == "fp32":
                ref = arrays
                if row["logit_std_min"] < 0.05 or not row["position_rows_differ"]:
                    failures.append(f"{name}/fp32: degenerate logits")
                if any(c.split("/")[0] != c.split("/")[1] for c in row["cache_vs_full"]):
                    failures.append(f"{name}/fp32: cached generation != full forward argmax")
            elif ref is not None:
                diffs, agree, total = [], 0, 0
                for i in range(len(prompts)):
                    a = np.array(arrays[f"p{i}.logits_last"])
                    b = np.array(ref[f"p{i}.logits_last"])
                    diffs.append(float(np.abs(a - b).max()))
                    x = np.array(arrays[f"p{i}.argmax"])
                    y = np.array(ref[f"p{i}.argmax"])
                    agree += int((x == y).sum())
                    total += len(x)
                row["max_abs_diff_vs_fp32"] = round(max(diffs), 4)
                row["argmax_agree_vs_fp32"] = f"{agree}/{total}"
            if not row["generated"]:
                failures.append(f"{name}/{variant}: generated fewer than {args.max_tokens} tokens")
            rows.append(row)
            print(f"[smoke] {name}/{variant}: {json.dumps({k: v for k, v in row.items() if k not in ('name', 'variant')})}",
                  flush=True)

    summary = {
        "seconds": round(time.time() - start, 1),
        "mlx": mx.__version__,
        "failures": failures,
        "rows": rows,
    }
    (out / "smoke.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("\n| checkpoint | variant | loads | 32 tokens | distinct tokens / prompt | cache = full fwd | "
          "min logit std | max abs diff vs fp32 | argmax agree vs fp32 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if not r["loaded"]:
            print(f"| {r['name']} | {r['variant']} | no | | | | | | |")
            continue
        print(
            f"| {r['name']} | {r['variant']} | yes | {'yes' if r['generated'] else 'no'} | "
            f"{', '.join(map(str, r['distinct_generated']))} | {', '.join(r['cache_vs_full'])} | "
            f"{r['logit_std_min']} | {r.get('max_abs_diff_vs_fp32', '')} | "
            f"{r.get('argmax_agree_vs_fp32', '')} |"
        )
    print(f"\n[smoke] {len(rows)} checkpoints, {len(failures)} failures, {summary['seconds']}s")
    for f in failures:
        print(f"[smoke] FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
