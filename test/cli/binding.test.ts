// `mlux binding` as a user runs it: spawned as a process, checked by exit code, stdout and stderr.
// The table and --json carry what bindingMechanisms finds on the default model (the entity-binding
// fixture); bad arguments exit 2 with the option's name and what it takes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BOX_SCHEMA } from "mlux";
import { mlux } from "./run-mlux.ts";

describe("mlux binding", () => {
  const dir = mkdtempSync(join(tmpdir(), "mlux-binding-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("prints the per-layer outcome table and the causal model's fit", async () => {
    const r = await mlux(["binding", "--pairs", "24", "--layers", "2,3"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(lines[0] as string, /^binding mechanisms \(boxes, seed 0\): \d+ of 24 pairs counted/);
    assert.match(r.stdout, /^patched\s+positional\s+lexical\s+reflexive\s+mixed\s+noEffect\s+other\s+carrier$/m);
    assert.match(r.stdout, /^resid_pre\.2\s.*\snoEffect$/m);
    assert.match(r.stdout, /^resid_pre\.3\s.*\slexical$/m);
    assert.match(r.stdout, /^causal model\s+w_pos\s+sigma\s+w_lex\s+w_ref\s+w_orig\s+JS dist$/m);
    assert.doesNotMatch(r.stdout, /resid_pre\.[01]\s/);
  });

  test("--json is the whole result: every pair with its prompts, predictions and patched answers", async () => {
    const r = await mlux(["binding", "--pairs", "8", "--layers", "3", "--site", "resid_post", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.site, "resid_post");
    assert.equal(json.pairs.length, 8);
    assert.deepEqual(
      json.layers.map((l: { layer: number }) => l.layer),
      [3],
    );
    const pair = json.pairs[0];
    assert.match(pair.original.text, /^The \w+ is in box [A-H]\. .* Which box holds the \w+\? Box$/);
    assert.deepEqual(Object.keys(pair.predictions).sort(), ["lexical", "noEffect", "positional", "reflexive"]);
    assert.equal(pair.patched.length, 1);
    // After the last layer the counterfactual's answer is what the residual stream holds.
    assert.equal(json.layers[0].carrier, "reflexive");
    assert.equal(typeof json.layers[0].fit.jsDistance, "number");
  });

  test("--csv: a row per layer with its outcome fractions, carrier and fit", async () => {
    const r = await mlux(["binding", "--pairs", "8", "--layers", "2,3", "--csv"]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.split(","));
    assert.deepEqual(header?.slice(0, 3), ["site", "layer", "positional"]);
    assert.ok(header?.includes("carrier") && header.includes("jsDistance"));
    assert.deepEqual(
      rows.map((row) => row.slice(0, 2)),
      [
        ["resid_pre", "2"],
        ["resid_pre", "3"],
      ],
    );
    // The six outcome fractions of a layer sum to 1.
    for (const row of rows) {
      const sum = row.slice(2, 8).reduce((a, b) => a + Number(b), 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, String(sum));
    }
  });

  test("--schema takes the wording from a JSON file", async () => {
    const file = join(dir, "schema.json");
    // The same words in another order of entities: a schema is data.
    writeFileSync(
      file,
      JSON.stringify({ ...BOX_SCHEMA, name: "boxes-reversed", entities: [...BOX_SCHEMA.entities].reverse() }),
    );
    const r = await mlux(["binding", "--pairs", "4", "--layers", "3", "--schema", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^binding mechanisms \(boxes-reversed, seed 0\)/);
  });

  test("mlux help binding lists its options", async () => {
    const r = await mlux(["help", "binding"]);
    assert.equal(r.code, 0);
    for (const option of ["--model", "--pairs", "--groups", "--seed", "--site", "--layers", "--threshold", "--json"]) {
      assert.ok(r.stdout.includes(option), option);
    }
    assert.match(r.stdout, /entity-binding/);
  });

  test("bad arguments exit 2 with what the option takes", async () => {
    const badAnswer = join(dir, "bad-answer.json");
    writeFileSync(badAnswer, JSON.stringify({ ...BOX_SCHEMA, answer: "box {attribute}" }));
    const notJson = join(dir, "not.json");
    writeFileSync(notJson, "entities: apple");
    const cases: [string[], RegExp][] = [
      [["--pairs", "0"], /option '--pairs <n>' argument '0' is invalid\. It takes a whole number of at least 1\./],
      [
        ["--groups", "3,4"],
        /option '--groups <list>' argument '3,4' is invalid\. It takes whole numbers of at least 4/,
      ],
      [["--site", "z"], /option '--site <site>' argument 'z' is invalid\. Allowed choices are resid_pre, resid_post\./],
      [["--threshold", "1.5"], /option '--threshold <p>' argument '1.5' is invalid/],
      [["--layers", "9"], /option '--layers <list>' argument '9' is invalid\. This model has layers 0 to 3\./],
      [["--schema", join(dir, "missing.json")], /option '--schema <file>': cannot read/],
      [["--schema", notJson], /option '--schema <file>': .* is not JSON/],
      [["--schema", badAnswer], /option '--schema <file>': .*"box A" is 2 tokens/],
    ];
    for (const [args, message] of cases) {
      const r = await mlux(["binding", ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "", args.join(" "));
    }
  });
});
