// `mlux steer` as a user runs it (a spawned process, not a terminal): the vector's summary and the
// three generations stacked, the same texts as the library's compareSteering; --json; bad
// arguments exit 2 naming the option. The side-by-side layout: every line within the width, wide
// characters counted as two cells, stacked when columns would be too narrow.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { compareSteering, HookedModel, steeringVector } from "mlux";
import { cellWidth, MIN_COLUMN_WIDTH, sideBySide, stacked, wrap } from "../../src/cli/commands/side-by-side.ts";
import { repoRoot } from "../oracle/python.ts";
import { mlux } from "./run-mlux.ts";

const PROMPT = "And when he had said these things,";
const POSITIVES = ["And Jesus answered and said unto them,", "Then said Jesus unto his disciples,"];
const NEGATIVES = ["And Moses said unto the people,", "And the LORD spake unto Moses, saying,"];
const SETS = [...POSITIVES.flatMap((p) => ["--positive", p]), ...NEGATIVES.flatMap((n) => ["--negative", n])];

describe("mlux steer", () => {
  let hm: HookedModel;
  let expected: ReturnType<typeof compareSteering>;
  before(async () => {
    hm = await HookedModel.fromPretrained(join(repoRoot, "fixtures", "tiny-lm-f16"));
    // The command's defaults: layer floor(2·4/3) = 2, last position, resid_post, suggested alpha.
    const vector = steeringVector(hm, POSITIVES, NEGATIVES, { layer: 2 });
    expected = compareSteering(hm, PROMPT, vector, { maxTokens: 8 });
  });
  after(() => hm.model.dispose?.());

  test("not a terminal: the summary, then the three generations stacked, as compareSteering makes them", async () => {
    const r = await mlux(["steer", PROMPT, ...SETS, "--max-tokens", "8"]);
    assert.equal(r.code, 0, r.stderr);
    const v = expected.vector;
    assert.ok(
      r.stdout.startsWith("steering vector: layer 2 resid_post (last position), 2 positive and 2 negative prompts\n"),
    );
    assert.ok(r.stdout.includes(`|v| ${v.norm.toFixed(2)}, mean residual norm ${v.residualNorm.toFixed(2)}`));
    assert.ok(r.stdout.includes(`suggested alpha ${v.suggestedAlpha}`));
    for (const g of expected.generations) {
      const title = `== alpha ${g.alpha > 0 ? "+" : ""}${g.alpha} (${g.finishReason}) ==`;
      assert.ok(r.stdout.includes(`${title}\n${g.text}\n`), `${title} with its text in:\n${r.stdout}`);
    }
  });

  test("--json: the comparison's JSON", async () => {
    const r = await mlux(["steer", PROMPT, ...SETS, "--max-tokens", "8", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(expected)));
  });

  test("--csv: a row per generation; --out writes the JSON file", async () => {
    const r = await mlux(["steer", PROMPT, ...SETS, "--max-tokens", "8", "--csv"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\r\n"); // RFC 4180 line ends
    assert.equal(lines[0], "alpha,finish_reason,generated_tokens,text");
    assert.equal(lines.length, 1 + expected.generations.length);
    for (const [i, g] of expected.generations.entries()) {
      assert.ok(lines[i + 1]?.startsWith(`${g.alpha},${g.finishReason},${g.generatedTokens},`), lines[i + 1]);
    }
    const file = join(mkdtempSync(join(tmpdir(), "mlux-steer-")), "steer.json");
    const written = await mlux(["steer", PROMPT, ...SETS, "--max-tokens", "8", "--out", file]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, "");
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), JSON.parse(JSON.stringify(expected)));
  });

  test("--alpha and --positions reach the steering", async () => {
    const r = await mlux([
      "steer",
      PROMPT,
      ...SETS,
      "--max-tokens",
      "8",
      "--alpha",
      "3",
      "--positions",
      "generated",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      generations: { alpha: number; text: string }[];
      steering: { positions: string };
    };
    assert.deepEqual(
      json.generations.map((g) => g.alpha),
      [-3, 0, 3],
    );
    assert.equal(json.steering.positions, "generated");
    const again = compareSteering(hm, PROMPT, expected.vector, {
      maxTokens: 8,
      alphas: [-3, 0, 3],
      positions: "generated",
    });
    assert.deepEqual(
      json.generations.map((g) => g.text),
      again.generations.map((g) => g.text),
    );
  });

  const bad: [string[], RegExp][] = [
    [["steer", PROMPT, "--negative", "x"], /required option '--positive <text>' not specified/],
    [
      ["steer", PROMPT, ...SETS, "--alpha", "0"],
      /option '--alpha <a>' argument '0' is invalid. It takes a number greater than 0/,
    ],
    [["steer", PROMPT, ...SETS, "--at", "first"], /argument 'first' is invalid. Allowed choices are last, mean/],
    [["steer", PROMPT, ...SETS, "--layer", "1.5"], /option '--layer <n>' argument '1.5' is invalid/],
    [["steer", PROMPT, ...SETS, "--layer", "4"], /This model has 4 layers: --layer takes 0 to 3/],
  ];
  for (const [args, message] of bad) {
    test(`${args.slice(2).join(" ").replace(SETS.join(" "), "(prompt sets)")}: exit 2, named`, async () => {
      const r = await mlux(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
    });
  }

  test("help steer lists its options", async () => {
    const r = await mlux(["help", "steer"]);
    assert.equal(r.code, 0);
    for (const option of [
      "--positive",
      "--negative",
      "--layer",
      "--at",
      "--site",
      "--alpha",
      "--positions",
      "--json",
    ]) {
      assert.ok(r.stdout.includes(option), `help steer lacks ${option}`);
    }
  });
});

describe("the side-by-side layout", () => {
  const columns = [
    { title: "alpha -2", text: "In the beginning God created the heaven and the earth. 天地创造 😀 naïve" },
    { title: "alpha 0", text: `a${"b".repeat(70)} and\ta second\nline` },
    { title: "alpha +2", text: "short" },
  ];

  test("every line fits the width, in terminal cells; every word is kept", () => {
    for (const width of [80, 100, 132]) {
      const text = sideBySide(columns, width) as string;
      for (const line of text.split("\n"))
        assert.ok(cellWidth(line) <= width, `${cellWidth(line)} > ${width}: ${line}`);
      for (const word of ["beginning", "天地创造", "😀", "naïve", "second", "short"])
        assert.ok(text.includes(word), word);
    }
  });

  test("wide characters take two cells, combining marks none; long words break", () => {
    assert.equal(cellWidth("天地"), 4);
    assert.equal(cellWidth("😀"), 2);
    assert.equal(cellWidth("nai\u0308ve"), 5);
    assert.deepEqual(wrap("abcdefghij kl", 4), ["abcd", "efgh", "ij", "kl"]);
    assert.deepEqual(wrap("one two three", 8), ["one two", "three"]);
  });

  test("too narrow for three readable columns: undefined (the command stacks them)", () => {
    assert.equal(sideBySide(columns, 3 * MIN_COLUMN_WIDTH + 5), undefined);
    assert.ok(sideBySide(columns, 3 * MIN_COLUMN_WIDTH + 6) !== undefined);
    assert.equal(stacked(columns.slice(2)), "== alpha +2 ==\nshort\n");
  });
});
