// The attention patterns HookedModel reports, on every architecture: a distribution over the keys
// each query may see (rows sum to 1; future keys and keys outside a sliding window exactly 0), the
// same through getAttentionPatterns and runWithCache, and through the KV cache during generation
// equal to the matching row of the whole-sequence pattern. (tools/oracle/hooks.py checks
// their values against mlx-lm's q and k in oracle.test.ts.)
import "../float32-products.ts";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import { valuesOf } from "../oracle/oracle.ts";
import { checkpoints, maxAbsDiff, promptIds, slidingWindow } from "./checkpoints.ts";

// The fp32 tolerance below is about float32 products (float32-products.ts): with TF32 a decode
// step's row and the whole-sequence row, computed in products of different shapes, differed by 5e-5
// to 4.9e-4 on an H100.

const CASES = checkpoints();
const PROMPT = promptIds(2);

// Softmax (precise) computes in float32 and rounds each probability once to the pattern's dtype, a
// relative error of at most the unit roundoff per entry (2^-8 for bfloat16's 8-bit significand),
// so a bfloat16 row's sum is off from 1 by at most 2^-8 of the sum. float32: the float32
// normalisation's own rounding over 20 keys stays far below 1e-6.
function rowSumTolerance(dtype: string): number {
  return dtype === "bfloat16" ? 2 ** -8 : 1e-6;
}
// A decode step attends with one query against the cache; the whole-sequence pattern computes the
// same row inside a larger matmul, whose sums may round differently: 1e-5 in fp32. bfloat16: four
// ulps of the largest probabilities (2^-8 each). On a GPU the quantized projections that make q and
// k also run another kernel for one row than for many (on CUDA, a vector kernel for the decode
// step), so q and k differ by bfloat16 ulps as well, which the scores enlarge: on an H100 rows moved
// by up to 0.035 (llama q4) and 0.027 (granite q4); allowed 2^-4 there.
function rowTolerance(dtype: string): number {
  if (dtype !== "bfloat16") return 1e-5;
  return mx.runtimeInfo.device === "cpu" ? 2 ** -6 : 2 ** -4;
}

const models = new Map<string, HookedModel>();

before(async () => {
  for (const c of CASES) models.set(c.label, await HookedModel.fromPretrained(c.dir, { dtype: "native" }));
});

after(() => {
  for (const hm of models.values()) hm.model.dispose();
});

function attentionLayers(hm: HookedModel): number[] {
  return hm.names.attentionPaths.flatMap((p, i) => (p === undefined ? [] : [i]));
}

for (const c of CASES) {
  describe(`${c.label}: attention patterns`, () => {
    test("rows are distributions over the visible keys: causal and sliding-window masks hold", (t) => {
      const hm = models.get(c.label) as HookedModel;
      const patterns = hm.getAttentionPatterns([PROMPT]);
      const length = PROMPT.length;
      const notes: string[] = [];
      try {
        assert.deepEqual([...patterns.keys()], attentionLayers(hm), "one pattern per attention layer");
        for (const [layer, pattern] of patterns) {
          const heads = pattern.shape[1] as number;
          assert.deepEqual(pattern.shape, [1, heads, length, length], `layer ${layer} shape`);
          const values = valuesOf(pattern);
          const window = slidingWindow(c.config, layer);
          let worstSum = 0;
          for (let h = 0; h < heads; h++) {
            for (let q = 0; q < length; q++) {
              let sum = 0;
              for (let k = 0; k < length; k++) {
                const p = values[(h * length + q) * length + k] as number;
                sum += p;
                if (k > q) assert.equal(p, 0, `layer ${layer} head ${h}: query ${q} sees future key ${k}`);
                else if (window !== undefined && q - k >= window) {
                  assert.equal(
                    p,
                    0,
                    `layer ${layer} head ${h}: query ${q} sees key ${k}, outside its window ${window}`,
                  );
                }
              }
              worstSum = Math.max(worstSum, Math.abs(sum - 1));
            }
          }
          assert.ok(worstSum <= rowSumTolerance(pattern.dtype), `layer ${layer}: a row sums to 1 ± ${worstSum}`);
          notes.push(`L${layer}${window === undefined ? "" : ` window ${window}`} |sum-1| ${worstSum}`);
        }
      } finally {
        for (const p of patterns.values()) p.dispose();
      }
      t.diagnostic(notes.join("; "));
    });

    test("runWithCache's pattern is getAttentionPatterns' (bit for bit)", () => {
      const hm = models.get(c.label) as HookedModel;
      const patterns = hm.getAttentionPatterns([PROMPT]);
      const { logits, cache } = hm.runWithCache([PROMPT], { names: ["pattern"] });
      logits.dispose();
      for (const [layer, pattern] of patterns) {
        assert.equal(maxAbsDiff(cache.get("pattern", layer), pattern, `layer ${layer}`), 0, `layer ${layer}`);
        pattern.dispose();
      }
      cache.dispose();
      assert.deepEqual(hm.hookedPaths(), []);
    });

    test("through the KV cache: each decode step's pattern is the whole sequence's row", (t) => {
      const hm = models.get(c.label) as HookedModel;
      const steps = [...hm.generate(PROMPT, { maxTokens: 2, capture: ["pattern"] })];
      assert.equal(steps.length, 2);
      const sequence = [...PROMPT, (steps[0] as { token: number }).token];
      const full = hm.getAttentionPatterns([sequence]);
      const notes: string[] = [];
      try {
        // Generation prefills all but the last prompt token; its first step runs that token at
        // position L-1 over L keys, the next at position L over L+1.
        for (const [n, step] of steps.entries()) {
          const query = PROMPT.length - 1 + n;
          const cache = step.cache as NonNullable<typeof step.cache>;
          for (const layer of attentionLayers(hm)) {
            const decoded = cache.get("pattern", layer);
            const heads = decoded.shape[1] as number;
            const window = slidingWindow(c.config, layer);
            const wholeRow = mx.index(full.get(layer) as mx.Array, ":", ":", `${query}:${query + 1}`, `:${query + 1}`);
            let diff: number;
            if (window === undefined) {
              assert.deepEqual(decoded.shape, [1, heads, 1, query + 1], `step ${n} layer ${layer} shape`);
              diff = maxAbsDiff(decoded, wholeRow, `step ${n} layer ${layer}`);
            } else {
              // A sliding layer's rotating cache holds the last `window` keys in ring order, so the
              // step sees exactly its window (no masked entries), rotated: compare sorted rows.
              assert.deepEqual(decoded.shape, [1, heads, 1, window], `step ${n} layer ${layer} shape`);
              const inWindow = mx.index(wholeRow, "...", `${query + 1 - window}:`);
              diff = maxAbsDiff(mx.sort(decoded, -1), mx.sort(inWindow, -1), `step ${n} layer ${layer}`);
              inWindow.dispose();
            }
            wholeRow.dispose();
            assert.ok(diff <= rowTolerance(decoded.dtype), `step ${n} layer ${layer}: max |diff| ${diff}`);
            notes.push(`s${n}L${layer} ${diff}`);
          }
        }
      } finally {
        for (const step of steps) {
          step.logprobs.dispose();
          step.cache?.dispose();
        }
        for (const p of full.values()) p.dispose();
      }
      assert.deepEqual(hm.hookedPaths(), [], "generation leaves no hooks on");
      t.diagnostic(notes.join("; "));
    });
  });
}
