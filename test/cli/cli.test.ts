// The mlux command as a user runs it: spawned as a process (directly and through symlinks, as npx
// and node_modules/.bin run it), checked by exit code, stdout and stderr. Bad arguments exit 2 with
// the option's name and what it takes, before anything is loaded or printed; --seed gives the text
// of mlx-lm's own command (python -m mlx_lm generate) with the same seed.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadModel } from "mlux";
import { streamGenerate } from "../../src/generate/stream.ts";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { SUPPORTED_MODEL_TYPES } from "../../src/models/registry.ts";
import { oraclePython, repoRoot } from "../oracle/python.ts";
import { entry, mlux, spawnRun } from "./run-mlux.ts";

const fixture = (name: string) => join(repoRoot, "fixtures", name);
const PROMPT = "And the LORD said unto Moses,";

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

describe("mlux help, version and usage errors", () => {
  test("no arguments: exit 2, the help on stderr", async () => {
    const r = await mlux([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^mlux: no command given\nUsage: mlux /);
    assert.match(r.stderr, /generate \[options\] <prompt>/);
  });

  test("an unknown command: exit 2, named", async () => {
    const r = await mlux(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test("--help lists the commands on stdout, exit 0", async () => {
    const r = await mlux(["--help"]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Usage: mlux \[options\] \[command\]/);
    for (const command of ["generate", "models", "help"]) assert.match(r.stdout, new RegExp(`\\n  ${command} `));
  });

  test("help generate and generate --help print the same options", async () => {
    const viaHelp = await mlux(["help", "generate"]);
    const viaOption = await mlux(["generate", "--help"]);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaOption.code, 0);
    assert.equal(viaHelp.stdout, viaOption.stdout);
    for (const option of ["--model", "--max-tokens", "--temperature", "--top-p", "--top-k", "--min-p", "--seed"]) {
      assert.ok(viaHelp.stdout.includes(option), `help generate lacks ${option}`);
    }
  });

  test("--version prints the package version", async () => {
    const r = await mlux(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
  });

  test("an unknown option and a missing prompt: exit 2", async () => {
    const unknown = await mlux(["generate", "--bogus", "x"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    const missing = await mlux(["generate"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'prompt'/);
  });

  // Each refused before the model is loaded: nothing on stdout (the prompt is not echoed).
  const badNumbers: [string[], string, string][] = [
    [["--max-tokens", "2.5"], "--max-tokens", "a whole number of at least 1"],
    [["--max-tokens", "0"], "--max-tokens", "a whole number of at least 1"],
    [["--max-tokens", "-4"], "--max-tokens", "a whole number of at least 1"],
    [["--max-tokens", "many"], "--max-tokens", "a whole number of at least 1"],
    [["--top-p", "1.5"], "--top-p", "a number greater than 0 and at most 1"],
    [["--top-k=-3"], "--top-k", "a whole number of at least 0"],
    [["--temperature", "-1"], "--temperature", "a number of at least 0"],
    [["--repetition-penalty", "0"], "--repetition-penalty", "a number greater than 0"],
    [["--min-p", "2"], "--min-p", "a number of at least 0 and at most 1"],
    [["--seed", "1.5"], "--seed", "a whole number of at least 0"],
  ];
  for (const [args, option, allowed] of badNumbers) {
    test(`generate ${args.join(" ")} is refused`, async () => {
      const r = await mlux(["generate", ...args, PROMPT]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, "");
      assert.ok(r.stderr.includes(`option '${option} `), `stderr names ${option}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`It takes ${allowed}.`), `stderr says what ${option} takes: ${r.stderr}`);
    });
  }

  test("--top-k past the model's vocabulary: exit 2 before the prompt is printed", async () => {
    const r = await mlux(["generate", "--top-k", "4096", PROMPT]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /This model has 4096 tokens: --top-k takes 0 \(all\) up to 4095\./);
  });
});

describe("mlux generate and models", () => {
  test("greedy generation on the default model: the library's text, the statistics on stderr", async () => {
    const r = await mlux(["generate", "--max-tokens", "6", PROMPT]);
    assert.equal(r.code, 0, r.stderr);
    const { model, path } = await loadModel(fixture("tiny-lm-f16"));
    let text = "";
    const stream = streamGenerate(model, Tokenizer.fromFolder(path), PROMPT, { maxTokens: 6 });
    for (let next = await stream.next(); !next.done; next = await stream.next()) text += next.value.text;
    model.dispose();
    assert.ok(text.length > 0);
    assert.equal(r.stdout, `${PROMPT}${text}\n`);
    assert.match(
      r.stderr,
      /^\[auto on the CPU: float16 weights computed in float32[^\]]*\]\n\[8 prompt tokens, 6 generated \(length\); first token \d+\.\d{3} s, \d+\.\d tokens\/s\]\n$/,
    );
  });

  test("--dtype native computes as stored and says so first; greedy text as auto (the default) on the fixture", async () => {
    const auto = await mlux(["generate", "--max-tokens", "12", PROMPT]);
    const native = await mlux(["generate", "--dtype", "native", "--max-tokens", "12", PROMPT]);
    assert.equal(native.code, 0, native.stderr);
    assert.match(native.stderr, /^\[native: float16 weights, as the checkpoint stores them\]/);
    assert.equal(native.stdout, auto.stdout);
    const bad = await mlux(["generate", "--dtype", "fp8", PROMPT]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--dtype.*'fp8' is invalid\. Allowed choices are native, auto, float32, float16, bfloat16/,
    );
  });

  // mlx-lm's command prints only the generated text (its detokenizer drops the first token's
  // leading space); mlux prints the prompt, then the text as generated. mlx-lm computes in the
  // checkpoint's dtype, so the same draws give the same text with --dtype native.
  for (const name of ["tiny-lm-f16", "tiny-lm-4bit"]) {
    test(`--seed 3 --temperature 0.8 on ${name}: the text of python -m mlx_lm generate --seed 3`, async () => {
      const flags = ["--temp", "0.8", "--seed", "3", "--max-tokens", "20"];
      const reference = await spawnRun(oraclePython, [
        "-m",
        "mlx_lm",
        "generate",
        "--model",
        fixture(name),
        "--prompt",
        PROMPT,
        ...flags,
        "--verbose",
        "False",
      ]);
      assert.equal(reference.code, 0, reference.stderr);
      const ours = await mlux([
        "generate",
        "--model",
        fixture(name),
        "--dtype",
        "native",
        "--temperature",
        "0.8",
        "--seed",
        "3",
        "--max-tokens",
        "20",
        PROMPT,
      ]);
      assert.equal(ours.code, 0, ours.stderr);
      const generated = ours.stdout.slice(PROMPT.length);
      assert.ok(ours.stdout.startsWith(PROMPT));
      assert.equal(generated.trim(), reference.stdout.trim());
      // Not the greedy text: the seed was used.
      const greedy = await mlux([
        "generate",
        "--model",
        fixture(name),
        "--dtype",
        "native",
        "--max-tokens",
        "20",
        PROMPT,
      ]);
      assert.notEqual(greedy.stdout, ours.stdout);
    });
  }

  test("a prompt longer than max_position_embeddings gets a warning on stderr", async () => {
    const long = `${PROMPT} I am the LORD.`.repeat(100); // 1,000+ tokens; the model's context is 1024
    const r = await mlux(["generate", "--max-tokens", "1", long]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: the prompt is \d+ tokens, longer than the model's context \(max_position_embeddings 1024\)/,
    );
    const promptTokens = Number(/\[(\d+) prompt tokens/.exec(r.stderr)?.[1]);
    assert.ok(promptTokens > 1024, `the prompt is ${promptTokens} tokens`);
  });

  test("models lists the supported model types", async () => {
    const r = await mlux(["models"]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout.trimEnd().split("\n"), [...SUPPORTED_MODEL_TYPES]);
  });
});

describe("mlux through symlinks, as npx and node_modules/.bin run it", () => {
  const dir = mkdtempSync(join(tmpdir(), "mlux-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a link to the script", async () => {
    const link = join(dir, "mlux");
    symlinkSync(entry, link);
    const r = await mlux(["--version"], { script: link });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
    const models = await mlux(["models"], { script: link });
    assert.equal(models.code, 0);
    assert.ok(models.stdout.split("\n").includes("llama"));
  });

  test("a link to the package folder (node_modules/mlux)", async () => {
    const linkedPackage = join(dir, "package");
    symlinkSync(repoRoot, linkedPackage);
    const r = await mlux(["--version"], { script: join(linkedPackage, "src", "cli", "main.ts") });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${version}\n`);
  });
});
