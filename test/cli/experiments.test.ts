// mlux lens, heads, patch, ablate and validate as a user runs them (child processes): --json
// equals the library call's result, --csv parses to the same numbers, --out writes the file,
// text is plain without a terminal or with NO_COLOR and coloured with FORCE_COLOR, heatmaps fit
// COLUMNS, bad arguments exit 2 with what was wrong (before the model loads where they can), and
// validate exits 0 on the fixtures and 1 on a broken checkpoint, naming the step.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { ablation, activationPatching, detectHeads, HookedModel, logitLens } from "mlux";
import { repoRoot } from "../oracle/python.ts";
import { entry, mlux } from "./run-mlux.ts";

const fixture = (name: string) => join(repoRoot, "fixtures", name);
const PROMPT = "And the LORD said unto Moses,";
const CLEAN = "And the LORD said unto Moses,";
const CORRUPTED = "And the LORD said unto Aaron,";
const ESC = "\u001b[";
const PATCH_ARGS = ["--clean", CLEAN, "--corrupted", CORRUPTED, "--answer", " Moses", "--wrong", " Aaron"];

/** The library result as its JSON text reads back (what --json prints, parsed). */
const asJson = (result: { toJSON(): unknown }) => JSON.parse(JSON.stringify(result));

/** RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field, "", "the CSV ends with a line break");
  return rows;
}

let hm: HookedModel;
const dir = mkdtempSync(join(tmpdir(), "mlux-cli-experiments-"));
before(async () => {
  hm = await HookedModel.fromPretrained(fixture("tiny-lm-f16"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("help for each command", () => {
  for (const command of ["lens", "heads", "patch", "ablate", "validate"]) {
    test(`help ${command} and ${command} --help print the same, with the shared options`, async () => {
      const viaHelp = await mlux(["help", command]);
      const viaOption = await mlux([command, "--help"]);
      assert.equal(viaHelp.code, 0);
      assert.equal(viaOption.code, 0);
      assert.equal(viaHelp.stdout, viaOption.stdout);
      const shared = ["--dtype", "--json", "--csv", "--out", ...(command === "validate" ? [] : ["--model"])];
      for (const option of shared) assert.ok(viaHelp.stdout.includes(option), `${command} lacks ${option}`);
    });
  }

  test("mlux --help lists the new commands", async () => {
    const r = await mlux(["--help"]);
    for (const command of ["lens", "heads", "patch", "ablate", "validate"]) {
      assert.match(r.stdout, new RegExp(`\\n  ${command} `));
    }
  });
});

describe("lens", () => {
  test("--json is logitLens's result", async () => {
    const r = await mlux(["lens", "--json", PROMPT]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), asJson(logitLens(hm, PROMPT, { probes: ["resid"], k: 5 })));
  });

  test("--csv --probe all --k 2: a row per probe, layer, position and rank, with the JSON's numbers", async () => {
    const r = await mlux(["lens", "--csv", "--probe", "all", "--k", "2", PROMPT]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = parseCsv(r.stdout);
    assert.deepEqual(header, ["probe", "layer", "position", "input_token", "rank", "id", "token", "logit", "prob"]);
    const lens = logitLens(hm, PROMPT, { k: 2 });
    const cells = lens.grids.flatMap((g) => g.rows.length * lens.tokenIds.length * 2);
    assert.equal(
      rows.length,
      cells.reduce((a, b) => a + b),
    );
    const grid = lens.grid("attn");
    const row = rows.find((r) => r[0] === "attn" && r[1] === "2" && r[2] === "3" && r[4] === "1") as string[];
    const cell = grid.cells[grid.rows.indexOf("2")]?.[3]?.[1];
    assert.deepEqual(row.slice(3), [
      lens.tokens?.[3],
      "1",
      String(cell?.id),
      cell?.token,
      String(cell?.logit),
      String(cell?.prob),
    ]);
  });

  test("--out FILE.json writes the JSON there and nothing to stdout", async () => {
    const out = join(dir, "lens.json");
    const r = await mlux(["lens", "--out", out, PROMPT]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /\[wrote JSON to .*lens\.json\]/);
    assert.deepEqual(JSON.parse(readFileSync(out, "utf8")), asJson(logitLens(hm, PROMPT, { probes: ["resid"], k: 5 })));
  });

  test("text: plain without a terminal and with NO_COLOR, coloured with FORCE_COLOR, the same text", async () => {
    const plain = await mlux(["lens", PROMPT], { env: { NO_COLOR: "" } }); // not a TTY, no NO_COLOR
    const noColor = await mlux(["lens", PROMPT], { env: { NO_COLOR: "1", FORCE_COLOR: "" } });
    const forced = await mlux(["lens", PROMPT], { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    for (const r of [plain, noColor, forced]) assert.equal(r.code, 0, r.stderr);
    assert.ok(!plain.stdout.includes(ESC), "no escape codes when stdout is not a terminal");
    assert.ok(!noColor.stdout.includes(ESC));
    assert.ok(forced.stdout.includes(`${ESC}48;2;`), "24-bit background colours with FORCE_COLOR");
    // The coloured text has the same cells; its legend is a colour bar instead of a sentence.
    const lines = (text: string) => stripVTControlCharacters(text).split("\n").slice(0, -2);
    assert.deepEqual(lines(forced.stdout), lines(plain.stdout));
    const lens = logitLens(hm, PROMPT, { probes: ["resid"], k: 1 });
    const last = lens.grid("resid").cells.at(-1)?.at(-1)?.[0];
    assert.match(plain.stdout, /^logit lens: the residual stream after each layer\n/);
    assert.ok(plain.stdout.includes(`${Math.round((last?.prob as number) * 100)}`));
    assert.match(plain.stdout, /colour scale 0\.0 to 1\.0\n$/);
  });

  test("COLUMNS=44: every line fits, and the cut layers are named", async () => {
    const r = await mlux(["lens", PROMPT], { env: { COLUMNS: "44" } });
    assert.equal(r.code, 0, r.stderr);
    const grid = r.stdout.split("\n").slice(1, 10);
    for (const line of grid) assert.ok([...line].length <= 44, `${line.length}: ${line}`);
    assert.match(
      r.stdout,
      /\(layer .+ not shown: \d of 5 columns do not fit 44 characters; --json or --csv has them all\)/,
    );
  });
});

describe("heads, patch and ablate: --json is the library's result", () => {
  test("heads", async () => {
    const r = await mlux(["heads", "--json", "--batch", "4", "--repeat-length", "12", "--seed", "3"]);
    assert.equal(r.code, 0, r.stderr);
    const expected = detectHeads(hm, { batch: 4, repeatLength: 12, seed: 3, threshold: 0.4 });
    assert.deepEqual(JSON.parse(r.stdout), asJson(expected));
  });

  test("heads on a terminal: a progress bar on stderr, the JSON alone on stdout; none without a terminal", async () => {
    const out = join(dir, "heads.json");
    const node = `${process.execPath} --conditions=mlux-source --import tsx ${entry}`;
    // In float16 (native) the run takes seconds on a CPU, past the bar's one-second delay; in float32 it may not.
    const native = await HookedModel.fromPretrained(fixture("tiny-lm-f16"), { dtype: "native" });
    // script(1) gives the command a terminal; its own output is what the terminal showed (stderr here).
    const shown = execFileSync(
      "script",
      ["-qfc", `${node} heads --json --dtype native --batch 12 --kind induction > ${out}`, "/dev/null"],
      { cwd: repoRoot, encoding: "utf8" },
    );
    assert.match(shown, /scoring heads \[[█░]+\] 12\/12/);
    assert.deepEqual(
      JSON.parse(readFileSync(out, "utf8")),
      asJson(detectHeads(native, { kinds: ["induction"], batch: 12, threshold: 0.4, onProgress: () => {} })),
    );
    native.model.dispose();
    const piped = await mlux(["heads", "--json", "--dtype", "native", "--batch", "12", "--kind", "induction"]);
    assert.equal(piped.stderr, "[native: float16 weights, as the checkpoint stores them]\n");
  });

  test("heads --csv --kind induction: a row per head", async () => {
    const r = await mlux(["heads", "--csv", "--kind", "induction", "--batch", "4", "--repeat-length", "12"]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = parseCsv(r.stdout);
    assert.deepEqual(header, ["kind", "layer", "head", "score"]);
    const expected = detectHeads(hm, { kinds: ["induction"], batch: 4, repeatLength: 12 });
    assert.deepEqual(
      rows.map((row) => Number(row[3])),
      expected.scores.induction?.flat(),
    );
  });

  test("patch with a logit difference", async () => {
    const r = await mlux(["patch", "--json", ...PATCH_ARGS]);
    assert.equal(r.code, 0, r.stderr);
    const expected = activationPatching(hm, {
      clean: CLEAN,
      corrupted: CORRUPTED,
      metric: { kind: "logitDiff", answer: " Moses", wrong: " Aaron" },
      site: "resid_pre",
    });
    assert.deepEqual(JSON.parse(r.stdout), asJson(expected));
  });

  test("patch --site z --direction noising --layers 1,3 --csv: raw and normalized per head", async () => {
    const r = await mlux([
      "patch",
      "--csv",
      "--site",
      "z",
      "--direction",
      "noising",
      "--layers",
      "1,3",
      "--clean",
      CLEAN,
      "--corrupted",
      CORRUPTED,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = parseCsv(r.stdout);
    assert.deepEqual(header, ["layer", "head", "label", "raw", "normalized"]);
    const expected = activationPatching(hm, {
      clean: CLEAN,
      corrupted: CORRUPTED,
      metric: { kind: "kl" },
      site: "z",
      direction: "noising",
      layers: [1, 3],
    });
    assert.deepEqual(
      rows.map((row) => [Number(row[0]), Number(row[1]), row[2], Number(row[3])]),
      expected.layers.flatMap((layer, i) => expected.columns.map((h, c) => [layer, h, `H${h}`, expected.raw[i]?.[c]])),
    );
  });

  test("patch --pairs: prompts of different lengths, aligned by position pairs", async () => {
    const corrupted = "And God said unto Moses,";
    const pairs: [number, number][] = [
      [0, 0],
      [1, 1],
      [4, 3],
      [5, 4],
      [6, 5],
      [7, 6],
    ];
    const r = await mlux([
      "patch",
      "--json",
      "--clean",
      CLEAN,
      "--corrupted",
      corrupted,
      "--pairs",
      pairs.map((p) => p.join(":")).join(","),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const expected = activationPatching(hm, {
      clean: CLEAN,
      corrupted,
      metric: { kind: "kl" },
      site: "resid_pre",
      positionPairs: pairs,
    });
    assert.deepEqual(JSON.parse(r.stdout), asJson(expected));
  });

  test("patch text: the clean and corrupted metric, then the heatmap", async () => {
    const r = await mlux(["patch", ...PATCH_ARGS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^logit\(" Moses"\) - logit\(" Aaron"\): clean -?\d+\.\d{4}, corrupted -?\d+\.\d{4}\n/);
    assert.match(r.stdout, /activation patching \(denoising\) of resid_pre\n/);
    assert.match(r.stdout, /\nL3 /);
  });

  test("ablate: zero ablation of each head, the default metric", async () => {
    const r = await mlux(["ablate", "--json", PROMPT]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), asJson(ablation(hm, { prompt: PROMPT, site: "z", kind: "zero", seed: 0 })));
  });

  test("ablate --kind mean --reference ... --site attn_out --positions 5,6 --metric prob --token ','", async () => {
    const references = ["In the beginning God created the heaven", "And God said, Let there be light"];
    const r = await mlux([
      "ablate",
      "--json",
      "--kind",
      "mean",
      ...references.flatMap((t) => ["--reference", t]),
      "--site",
      "attn_out",
      "--positions",
      "5,6",
      "--metric",
      "prob",
      "--token",
      ",",
      PROMPT,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const expected = ablation(hm, {
      prompt: PROMPT,
      site: "attn_out",
      kind: "mean",
      reference: references,
      positions: [5, 6],
      metric: { kind: "prob", token: "," },
      seed: 0,
    });
    assert.deepEqual(JSON.parse(r.stdout), asJson(expected));
  });
});

describe("bad arguments: exit 2 with what was wrong, nothing on stdout", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "lens --k 0",
      ["lens", "--k", "0", PROMPT],
      /option '--k <n>' argument '0' is invalid\. It takes a whole number of at least 1\./,
    ],
    ["lens --probe heads", ["lens", "--probe", "heads", PROMPT], /Allowed choices are resid, attn, mlp, all\./],
    ["lens --json --csv", ["lens", "--json", "--csv", PROMPT], /option '--json' cannot be used with option '--csv'/],
    [
      "lens --out in a missing folder",
      ["lens", "--out", "/no/such/folder/x.json", PROMPT],
      /The folder \/no\/such\/folder does not exist/,
    ],
    ["lens without a prompt", ["lens"], /missing required argument 'prompt'/],
    [
      "lens --k past the vocabulary",
      ["lens", "--k", "5000", PROMPT],
      /This model has 4096 tokens: --k takes 1 to 4096\./,
    ],
    ["heads --threshold 2", ["heads", "--threshold", "2"], /It takes a number of at least 0 and at most 1\./],
    ["patch without --corrupted", ["patch", "--clean", CLEAN], /required option '--corrupted <text>' not specified/],
    [
      "patch --metric logit-diff without --wrong",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--metric", "logit-diff", "--answer", " Moses"],
      /--metric logit-diff needs --answer and --wrong/,
    ],
    [
      "patch --metric kl --token",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--metric", "kl", "--token", ","],
      /--token does not go with --metric kl/,
    ],
    [
      "patch --layers 1,x",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--layers", "1,x"],
      /It takes a comma-separated list, each whole number of at least 0\./,
    ],
    [
      "patch --layers 9",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--layers", "9"],
      /has layer 9\. This model has layers 0 to 3\./,
    ],
    [
      "patch of prompts of different lengths",
      ["patch", "--clean", CLEAN, "--corrupted", "And God said,"],
      /the clean prompt is 8 tokens and the corrupted one 5/,
    ],
    [
      "patch --pairs 0-0",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--pairs", "0-0"],
      /It takes clean:corrupted position pairs, e\.g\. 0:0,1:1,4:5\./,
    ],
    [
      "patch --pairs 1:1,1:2",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--pairs", "1:1,1:2"],
      /It pairs a clean position twice\./,
    ],
    [
      "patch --pairs past the corrupted prompt",
      ["patch", "--clean", CLEAN, "--corrupted", "And God said,", "--pairs", "0:0,7:5"],
      /argument has 7:5\. The clean prompt has positions 0 to 7, the corrupted one 0 to 4\./,
    ],
    [
      "patch --answer of two tokens",
      ["patch", "--clean", CLEAN, "--corrupted", CORRUPTED, "--answer", " Moses said", "--wrong", " Aaron"],
      /metric answer " Moses said" is 2 tokens/,
    ],
    [
      "ablate --kind resample without --reference",
      ["ablate", "--kind", "resample", PROMPT],
      /--kind resample needs --reference prompts/,
    ],
    [
      "ablate --positions past the prompt",
      ["ablate", "--positions", "3,8", PROMPT],
      /has position 8\. The prompt has positions 0 to 7\./,
    ],
    ["validate without a model", ["validate"], /missing required argument 'model'/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const r = await mlux(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
      // Refused before the model loads where the arguments alone say so: no line of what it computes in.
      const needsModel = /vocabulary|--layers 9|different lengths|two tokens|past the/.test(name);
      assert.equal(/^\[(auto|native)\b/m.test(r.stderr), needsModel, r.stderr);
    });
  }
});

describe("validate", () => {
  for (const name of ["tiny-lm-f16", "tiny-lm-4bit", "attn-only-2l", "entity-binding"]) {
    test(`exits 0 on fixtures/${name}, every step passed`, async () => {
      const r = await mlux(["validate", "--json", fixture(name)]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { ok: boolean; steps: { step: string; ok: boolean }[] };
      assert.equal(report.ok, true);
      assert.deepEqual(
        report.steps.map((s) => [s.step, s.ok]),
        ["load", "config", "lens", "patch", "generate"].map((s) => [s, true]),
      );
    });
  }

  test("text on a terminal-less stdout: a line per step", async () => {
    const r = await mlux(["validate", fixture("tiny-lm-f16")]);
    assert.equal(r.code, 0, r.stderr);
    for (const step of ["load", "config", "lens", "patch", "generate"])
      assert.match(r.stdout, new RegExp(`^✓ ${step} `, "m"));
    assert.match(r.stdout, /✓ config +HookedModel\(llama, 4L\/8H\/32D, float32\)/);
  });

  test("exits 1 on a checkpoint with truncated weights, naming the load step; the rest skipped", async () => {
    const broken = join(dir, "truncated");
    cpSync(fixture("tiny-lm-f16"), broken, { recursive: true });
    truncateSync(join(broken, "model.safetensors"), 1000);
    const r = await mlux(["validate", "--json", broken]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as { ok: boolean; steps: { step: string; ok: boolean; error?: string }[] };
    assert.equal(report.ok, false);
    assert.equal(report.steps[0]?.step, "load");
    assert.equal(report.steps[0]?.ok, false);
    assert.deepEqual(
      report.steps.slice(1).map((s) => s.error),
      ["skipped", "skipped", "skipped", "skipped"],
    );
    assert.match(r.stderr, /mlux: validate: the load step failed: /);
  });

  test("exits 1 on a checkpoint whose config.json has num_hidden_layers -3", async () => {
    const broken = join(dir, "reshaped");
    cpSync(fixture("tiny-lm-f16"), broken, { recursive: true });
    const config = JSON.parse(readFileSync(join(broken, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...config, num_hidden_layers: -3 }));
    const r = await mlux(["validate", broken]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^✗ load /);
    assert.match(
      r.stderr,
      /the load step failed: [\s\S]*"num_hidden_layers" must be an integer from 1 to 4096, got -3/,
    );
  });
});
