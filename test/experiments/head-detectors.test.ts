// Head detectors: the scores against a hand-computed tiny pattern, and on the fixtures' known heads
// (fixtures/*/README.md) on the cards' own evaluation batch (drawn by tools/fixtures/tasks.py in the
// oracle venv) and on our own seeded repeated tokens.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { HookedModel, mx } from "mlux";
import { detectionPattern, headScores } from "../../src/analysis/head-scores.ts";
import { detectHeads, repeatedRandomTokens } from "../../src/experiments/head-detectors.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = join(process.env.MLUX_ORACLE_VENV ?? join(root, ".venv-oracle"), "bin", "python");

interface Card {
  head_scores: {
    eval: { seed: number; batch: number; repeat_len: number; bos: number; token_range: [number, number] };
    tolerance: number;
    previous_token: number[][];
    induction: number[][];
  };
  previous_token_heads: { layer: number; head: number }[];
  induction_heads: { layer: number; head: number }[];
}

function card(name: string): Card {
  const text = readFileSync(join(root, "fixtures", name, "README.md"), "utf8");
  return JSON.parse((/```json\n([\s\S]*?)```/.exec(text) as RegExpExecArray)[1] as string);
}

function cardBatch(spec: Card["head_scores"]["eval"]): number[][] {
  const code = `import json, sys
sys.path.insert(0, "tools/fixtures")
import tasks
s = json.loads(sys.argv[1])
print(json.dumps(tasks.repeated_random_tokens(s["bos"], s["token_range"][0], s["token_range"][1], batch=s["batch"], seq_len=s["repeat_len"], seed=s["seed"]).tolist()))`;
  return JSON.parse(execFileSync(python, ["-c", code, JSON.stringify(spec)], { cwd: root, encoding: "utf8" }));
}

const near = (a: number, b: number, tol: number, label: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} against ${b} (tolerance ${tol})`);

describe("head scores on a hand-computed pattern", () => {
  // Tokens a b c b (ids 4 5 6 5); one head with this pattern (rows are queries, each sums to 1).
  const tokens = mx.array([[4, 5, 6, 5]], "int32");
  const A = [
    [1, 0, 0, 0],
    [0.5, 0.5, 0, 0],
    [0.2, 0.6, 0.2, 0],
    [0.1, 0.3, 0.4, 0.2],
  ];
  const pattern = mx.array([[A]], "float32");
  const score = (kind: "previousToken" | "duplicateToken" | "induction", options = {}) =>
    headScores(pattern, detectionPattern(kind, tokens), options).tolist() as number[];

  test("detection patterns", () => {
    assert.deepEqual(detectionPattern("previousToken", tokens).tolist(), [
      [
        [0, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
      ],
    ]);
    // Position 3 holds b, which is also at 1.
    assert.deepEqual(detectionPattern("duplicateToken", tokens).tolist(), [
      [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 1, 0, 0],
      ],
    ]);
    // ... so an induction head at 3 looks at 2, the token after that b.
    assert.deepEqual(detectionPattern("induction", tokens).tolist(), [
      [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 1, 0],
      ],
    ]);
  });

  test("mul, abs, the exclusions and target rows, each worked out by hand", () => {
    // mul: attention on targets over all attention (4 rows of 1).
    near(score("previousToken")[0] as number, (0.5 + 0.6 + 0.4) / 4, 1e-7, "previous mul");
    near(score("duplicateToken")[0] as number, 0.3 / 4, 1e-7, "duplicate mul");
    near(score("induction")[0] as number, 0.4 / 4, 1e-7, "induction mul");
    // excludeBos: column 0 out of the pattern (1 + 0.5 + 0.2 + 0.1 = 1.8 less attention).
    near(score("previousToken", { excludeBos: true })[0] as number, (0.6 + 0.4) / (4 - 1.8), 1e-7, "excludeBos");
    // excludeCurrentToken: the diagonal out (1 + 0.5 + 0.2 + 0.2 = 1.9 less).
    near(score("previousToken", { excludeCurrentToken: true })[0] as number, 1.5 / (4 - 1.9), 1e-7, "excludeCurrent");
    // Only rows with a target: rows 1-3 for previous-token, row 3 for induction.
    near(score("previousToken", { rows: "withTarget" })[0] as number, 1.5 / 3, 1e-7, "withTarget previous");
    near(score("induction", { rows: "withTarget" })[0] as number, 0.4, 1e-7, "withTarget induction");
    // abs: 1 - mean |A - D| · 4; for previous-token the row sums of |A - D| are 1, 1, 0.8+0.2+0.2 ... by hand:
    const D = [
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ];
    const total = A.flatMap((row, q) => row.map((a, k) => Math.abs(a - (D[q]?.[k] as number)))).reduce(
      (s, v) => s + v,
      0,
    );
    near(score("previousToken", { errorMeasure: "abs" })[0] as number, 1 - (total / 16) * 4, 1e-6, "abs");
  });

  test("bad options are errors", () => {
    assert.throws(() => score("previousToken", { errorMeasure: "l2" }), /errorMeasure must be "mul" or "abs"/);
    assert.throws(
      () => score("previousToken", { rows: "withTarget", errorMeasure: "abs" }),
      /goes with errorMeasure "mul"/,
    );
    assert.throws(() => score("previousToken", { exclude_bos: true }), /did you mean excludeBos/);
    assert.throws(() => detectionPattern("copy" as "induction", tokens), /kind must be one of/);
    assert.throws(() => headScores(pattern, mx.zeros([1, 3, 3])), /must be \[1, 4, 4\]/);
  });
});

// The cards' induction score looks only at the first copy of the token in the first half (query q of
// the second copy on key q - T + 1); TransformerLens's pattern also counts the successor of any other
// earlier copy, and first-half positions whose token came before. This is the cards' pattern.
function cardInductionPattern(batch: number, repeat: number): mx.Array {
  const length = 2 * repeat + 1;
  const rows = Array.from({ length }, (_, q) =>
    Array.from({ length }, (_, k) => (q > repeat && k === q - repeat + 1 ? 1 : 0)),
  );
  return mx.broadcastTo(mx.array(rows, "float32"), [batch, length, length]);
}

// A bound on |TransformerLens's induction score (target rows) - the card's| from the tokens alone:
// per sequence (m + e) / T, where m + e counts the positions whose row differs between the two
// detection patterns (a row's share of attention moves by at most 1, and the mean's denominator by e).
function definitionGap(tokens: number[][], repeat: number): number {
  const ids = mx.array(tokens, "int32");
  const ours = detectionPattern("induction", ids);
  const theirs = cardInductionPattern(tokens.length, repeat);
  const differs = mx.any(mx.notEqual(ours, theirs), { axis: -1 });
  return mx.mean(mx.divide(mx.sum(differs, { axis: -1 }), repeat)).item() as number;
}

for (const name of ["attn-only-2l", "tiny-lm-f16"]) {
  describe(`fixtures/${name}: the card's heads`, () => {
    const { head_scores: scores, previous_token_heads, induction_heads } = card(name);
    const { repeat_len: repeat } = scores.eval;
    const named = (heads: { layer: number; head: number }[]) => heads.map((h) => `L${h.layer}H${h.head}`).sort();

    test("on the card's batch: its table exactly with its definitions, and the same heads with TransformerLens's", async () => {
      const hm = await HookedModel.fromPretrained(join(root, "fixtures", name));
      const tokens = cardBatch(scores.eval);
      // The card's own measure through our patterns and scoring: its previous-token score is
      // TransformerLens's pattern on the rows with a target, its induction score the pattern above.
      const patterns = hm.getAttentionPatterns(tokens);
      const ids = mx.array(tokens, "int32");
      for (const [layer, pattern] of patterns) {
        const previous = headScores(pattern, detectionPattern("previousToken", ids), {
          rows: "withTarget",
        }).tolist() as number[];
        const induction = headScores(pattern, cardInductionPattern(tokens.length, repeat), {
          rows: "withTarget",
        }).tolist() as number[];
        for (const [head, value] of previous.entries()) {
          // The card's tolerance: its PyTorch float32 run against MLX on the shipped weights.
          near(
            value,
            scores.previous_token[layer]?.[head] as number,
            scores.tolerance,
            `L${layer}H${head} previous-token`,
          );
          near(
            induction[head] as number,
            scores.induction[layer]?.[head] as number,
            scores.tolerance,
            `L${layer}H${head} induction`,
          );
        }
        pattern.dispose();
      }
      // TransformerLens's definitions over all rows: every row of a pattern sums to 1, so the
      // previous-token score is the card's times (L - 1) / L (row 0 has no previous token).
      const length = 2 * repeat + 1;
      const all = detectHeads(hm, { tokens, kinds: ["previousToken"] });
      for (const [i, layer] of all.layers.entries()) {
        for (const [head, value] of (all.scores.previousToken?.[i] ?? []).entries()) {
          const expected = ((scores.previous_token[layer]?.[head] as number) * (length - 1)) / length;
          near(value, expected, scores.tolerance, `L${layer}H${head} previous-token over all rows`);
        }
      }
      // On the rows with a target, the same heads as the card, scores within the gap the tokens allow.
      const gap = definitionGap(tokens, repeat);
      const found = detectHeads(hm, { tokens, rows: "withTarget" });
      assert.deepEqual(named(found.heads("previousToken")), named(previous_token_heads));
      assert.deepEqual(named(found.heads("induction")), named(induction_heads));
      for (const [i, layer] of found.layers.entries()) {
        for (const [head, value] of (found.scores.induction?.[i] ?? []).entries()) {
          near(
            value,
            scores.induction[layer]?.[head] as number,
            gap + scores.tolerance,
            `L${layer}H${head} induction (TransformerLens)`,
          );
        }
      }
      hm.model.dispose();
    });

    test("on our own seeded repeated tokens: the same heads", async () => {
      const hm = await HookedModel.fromPretrained(join(root, "fixtures", name));
      const [low, high] = scores.eval.token_range;
      const options = { seed: 5, batch: 16, repeatLength: repeat, tokenRange: [low, high] as [number, number] };
      const tokens = repeatedRandomTokens(hm, options);
      assert.deepEqual(tokens, repeatedRandomTokens(hm, options), "the same seed gives the same tokens");
      assert.equal(tokens.length, 16);
      assert.deepEqual(tokens[0]?.slice(1, 1 + repeat), tokens[0]?.slice(1 + repeat));
      const found = detectHeads(hm, { ...options, rows: "withTarget" });
      assert.deepEqual(named(found.heads("previousToken")), named(previous_token_heads));
      assert.deepEqual(named(found.heads("induction")), named(induction_heads));
      assert.match(found.toString(), /induction heads \(score >= 0.4\): L\dH\d/);
      assert.deepEqual(JSON.parse(JSON.stringify(found)).heads.induction.length, induction_heads.length);
      hm.model.dispose();
    });
  });
}
