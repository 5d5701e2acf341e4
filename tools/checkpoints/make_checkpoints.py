"""Make the tiny random checkpoints of every mlx-lm architecture in families.py.

For each family: build mlx-lm's own Model from the config, fill it with seeded random
weights, write it as an fp32 source checkpoint, then derive the four variants the way
`mlx_lm.convert` does (load_model -> cast -> quantize_model -> save_model + save_config):

  <out>/<name>/fp32   float32 weights
  <out>/<name>/bf16   bfloat16 weights
  <out>/<name>/q4     4-bit affine, from the bf16 weights (scales/biases bf16), as mlx-community
  <out>/<name>/q8     8-bit affine, likewise
(a family may list fewer variants).

Each folder is an mlx-community style checkpoint: config.json (with the "quantization"
entry where quantized), model.safetensors, model.safetensors.index.json, tokenizer.json,
tokenizer_config.json. Re-running skips every family whose stamp (a hash of the scripts in
STAMPED and the mlx / mlx-lm versions) is unchanged.

  python tools/checkpoints/make_checkpoints.py [--out DIR] [--only NAME ...] [--force]
"""

import argparse
import copy
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OUT = Path(os.environ.get("MLUX_CHECKPOINTS_DIR", REPO / ".checkpoints"))

sys.path.insert(0, str(HERE))

import mlx.core as mx  # noqa: E402
import mlx.nn as nn  # noqa: E402
import mlx_lm  # noqa: E402
from mlx.utils import tree_flatten, tree_map_with_path  # noqa: E402
from mlx_lm.utils import (  # noqa: E402
    _get_classes,
    load_model,
    quantize_model,
    save_config,
    save_model,
)

import tokenizer_files  # noqa: E402
from families import FAMILIES, INIT, VARIANTS, VOCAB  # noqa: E402


STAMPED = ["families.py", "make_checkpoints.py", "tokenizer_files.py"]


def stamp() -> str:
    """Changes whenever a built checkpoint could: the scripts that make it, the versions."""
    h = hashlib.sha256()
    for name in STAMPED:
        h.update(name.encode())
        h.update((HERE / name).read_bytes())
    h.update(f"mlx {mx.__version__} mlx-lm {mlx_lm.__version__}".encode())
    return h.hexdigest()[:16]


def family_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _is_offset_norm(module: nn.Module) -> bool:
    """Gemma's RMSNorm scales by (1 + weight): its weights are drawn around 0, not 1."""
    return type(module).__name__ == "RMSNorm" and type(module).__module__.startswith(
        "mlx_lm.models.gemma"
    )


def init_params(model: nn.Module, seed: int, scales: dict) -> None:
    """Seeded random weights, scaled so activations and logits stay O(1)."""
    mx.random.seed(seed)
    modules = dict(model.named_modules())
    new = []
    for path, value in sorted(tree_flatten(model.parameters()), key=lambda kv: kv[0]):
        owner, leaf = path.rsplit(".", 1)
        module = modules[owner]
        noise = mx.random.normal(value.shape, dtype=mx.float32)
        if leaf == "bias":
            p = scales["bias"] * noise
        elif _is_offset_norm(module):
            p = scales["norm"] * noise
        elif isinstance(module, (nn.RMSNorm, nn.LayerNorm)) or type(module).__name__ == "RMSNorm":
            p = 1.0 + scales["norm"] * noise
        elif isinstance(module, nn.Embedding):
            p = scales["embed"] * noise
        elif isinstance(module, (nn.Linear, nn.Conv1d)):
            fan_in = 1
            for d in value.shape[1:]:
                fan_in *= d
            p = (scales["gain"] / fan_in**0.5) * noise
        else:
            raise ValueError(f"no init rule for {path} ({type(module).__name__})")
        new.append((path, p))
    model.load_weights(new, strict=True)
    mx.eval(model.parameters())


def family_config(fam: dict, tokenizer: Path) -> dict:
    """The family's config, with vocab_size and token ids fitted to its tokenizer files."""
    config = copy.deepcopy(fam["config"])
    config["torch_dtype"] = "float32"
    if fam.get("full_vocab"):
        return config
    renumbered = {int(k): v for k, v in
                  json.loads((tokenizer / "ids.json").read_text()).items()}
    kept = VOCAB - len(renumbered)

    def remap(i):
        return renumbered.get(i, i if i < kept else None)

    config["vocab_size"] = VOCAB
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = config.get(key)
        if isinstance(value, list):
            ids = [remap(i) for i in value if remap(i) is not None]
            config[key] = ids if len(ids) > 1 else (ids[0] if ids else None)
        elif value is not None:
            config[key] = remap(value)
    return config


def write_source(fam: dict, src: Path, tokenizer: Path) -> None:
    """The fp32 random checkpoint that the variants are converted from."""
    config = family_config(fam, tokenizer)
    model_class, args_class = _get_classes(config)
    model = model_class(args_class.from_dict(config))
    init_params(model, family_seed(fam["name"]), {**INIT, **fam.get("init", {})})
    weights = dict(tree_flatten(model.parameters()))
    if config["model_type"] == "gemma3_text":
        # Gemma 3 checkpoints carry no lm_head: mlx-lm then ties it to embed_tokens.
        weights.pop("lm_head.weight")
    src.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(src / "model.safetensors"), weights, metadata={"format": "mlx"})
    with open(src / "config.json", "w") as f:
        json.dump(config, f, indent=2)


def write_variant(fam: dict, src: Path, variant: str, dst: Path, tokenizer: Path) -> None:
    """One variant, by the steps of mlx_lm.convert (load, cast, quantize, save)."""
    model, config = load_model(src, lazy=True)
    if variant != "fp32":
        config["torch_dtype"] = "bfloat16"
        cast_predicate = getattr(model, "cast_predicate", lambda _: True)

        def set_dtype(k, v):
            if cast_predicate(k) and mx.issubdtype(v.dtype, mx.floating):
                return v.astype(mx.bfloat16)
            return v

        model.update(tree_map_with_path(set_dtype, model.parameters()))
    if variant in ("q4", "q8"):
        model, config = quantize_model(
            model, config, group_size=fam["group_size"], bits=int(variant[1:])
        )
    if dst.exists():
        shutil.rmtree(dst)
    save_model(dst, model, donate_model=True)
    save_config(config, config_path=dst / "config.json")
    tokenizer_files.link_files(tokenizer, dst)


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def build(fam: dict, out: Path, cache: Path, want: str, force: bool) -> dict:
    root = out / fam["name"]
    stamp_file = root / ".stamp"
    if not force and stamp_file.exists() and stamp_file.read_text() == want:
        return {"built": False}
    tokenizer = tokenizer_files.tokenizer_dir(
        fam["tokenizer"], cache, None if fam.get("full_vocab") else VOCAB
    )
    if root.exists():
        shutil.rmtree(root)
    src = root / ".source"
    write_source(fam, src, tokenizer)
    for variant in fam.get("variants", VARIANTS):
        write_variant(fam, src, variant, root / variant, tokenizer)
    shutil.rmtree(src)
    stamp_file.write_text(want)
    return {"built": True}


def describe(fam: dict, out: Path) -> dict:
    root = out / fam["name"]
    spec, what = tokenizer_files.TOKENIZERS[fam["tokenizer"]]
    variants = fam.get("variants", VARIANTS)
    config = json.loads((root / variants[0] / "config.json").read_text())
    return {
        "model_type": fam["config"]["model_type"],
        "like": fam["like"],
        "tokenizer": {"key": fam["tokenizer"], "package": spec, "what": what,
                      "reduced_to": None if fam.get("full_vocab") else VOCAB},
        "vocab_size": config["vocab_size"],
        "group_size": fam["group_size"],
        "switches": fam["switches"],
        "variants": {
            v: {"path": f"{fam['name']}/{v}", "bytes": folder_bytes(root / v)} for v in variants
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", help="family names to build")
    parser.add_argument("--force", action="store_true", help="rebuild even if stamped")
    parser.add_argument("--list", action="store_true", help="list the family names")
    args = parser.parse_args(argv)

    if args.list:
        for fam in FAMILIES:
            print(fam["name"])
        return 0
    names = {f["name"] for f in FAMILIES}
    for n in args.only or []:
        if n not in names:
            parser.error(f"unknown family {n!r}; known: {', '.join(sorted(names))}")
    families = [f for f in FAMILIES if not args.only or f["name"] in args.only]

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # The folder ignores itself, so git never picks up what is built here.
    (out / ".gitignore").write_text("*\n")
    cache = out / "_tokenizers"
    want = stamp()
    start = time.time()
    built = 0
    for fam in families:
        t = time.time()
        if build(fam, out, cache, want, args.force)["built"]:
            built += 1
            print(f"[checkpoints] {fam['name']}: built in {time.time() - t:.1f}s", flush=True)

    manifest = {
        "stamp": want,
        "mlx": mx.__version__,
        "mlx_lm": mlx_lm.__version__,
        "variants": VARIANTS,
        "checkpoints": {f["name"]: describe(f, out) for f in FAMILIES if (out / f["name"] / ".stamp").exists()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"[checkpoints] {built} built, {len(families) - built} up to date, "
        f"{time.time() - start:.1f}s, in {out}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
