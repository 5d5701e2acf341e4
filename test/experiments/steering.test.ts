// Steering against independent computations: the vector against a mean difference computed in
// float64 from each prompt's own runWithCache; steered logits against a hand-written hook that adds
// the vector; steered generation against a loop without a KV cache (the whole sequence rerun each
// step, the vector added by position); alpha 0 against the unsteered text. On llama, gemma2 (soft-
// caps, sliding windows), gpt2, lfm2 (convolution layers, whose caches keep no position count),
// 4-bit llama and the 4-bit fixture. Then the behaviour on the bundled KJV model, and bad options.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  compareSteering,
  HookedModel,
  mx,
  type SteeringPositions,
  SteeringVector,
  steer,
  steeredGenerations,
  steeringHooks,
  steeringVector,
} from "mlux";
import { checkpoints, promptIds } from "../hooks/checkpoints.ts";
import { repoRoot } from "../oracle/python.ts";
import { halfOnGpu, relativeUlp } from "./half-on-gpu.ts";

// The 4-bit fixture computes in float16, whose quantized products are slow on the CPU (~0.4 s per
// position, measured): it gets short prompts and one of the two vector cases.
const MODELS = [
  ...checkpoints(["llama"])
    .filter((c) => ["llama/fp32", "gemma2/fp32", "gpt2/fp32", "lfm2/fp32", "llama/q4"].includes(c.label))
    .map((c) => ({ label: c.label, dir: c.dir, short: false })),
  { label: "fixtures/tiny-lm-4bit", dir: join(repoRoot, "fixtures", "tiny-lm-4bit"), short: true },
];
// Token-id prompts of different lengths (a padded batch), within every model's vocabulary (the
// fixture's is 4096).
const ids = (seed: number, length: number) => promptIds(seed, length).map((id) => id % 4096);
// Longer than gemma2's sliding window (8) with the tokens generated, or short for the fixture.
const prompts = (short: boolean) => ({
  positives: [ids(31, short ? 4 : 9), ids(32, short ? 5 : 12), ids(33, short ? 3 : 7)],
  negatives: [ids(41, short ? 4 : 10), ids(42, short ? 3 : 8)],
  prompt: ids(51, short ? 5 : 11),
});

// The vector is a float32 mean of float32 activations taken from a padded batch, compared with a
// float64 mean of each prompt's unbatched activations: a batch may round a row's products a few
// ulps differently (hooked-model.ts), and the float32 sums add ~1e-7 relative. Residuals here are
// O(1-100); 2e-4 absolute leaves a wide margin over the 1e-5 measured, and far below the
// vectors' own entries.
const VECTOR_TOLERANCE = 2e-4;
// Logits of a cached decode step against the same position of one full pass: a few 1e-6 in float32
// (logits O(10)); float16 activations of the 4-bit fixture round at 1e-3 relative, so up to ~1e-2.
// 2e-2 accepts only near-ties, which no greedy check can order.
const TIE_TOLERANCE = 2e-2;
// bfloat16 logits of a cached decode step and of the full pass on a GPU, which run other kernels
// (half-on-gpu.ts): 2.3e-2 apart at a logit of 1.55 on an H100, three bfloat16 ulps there. 2^-4
// (eight ulps at 1 to 2) still accepts only near-ties.
const BF16_GPU_TIE_TOLERANCE = 2 ** -4;

/** Each prompt's activation rows at `key`, run alone, as float64 JS arrays [L][d]. */
function ownRows(hm: HookedModel, prompt: number[], key: string): number[][] {
  const { logits, cache } = hm.runWithCache([prompt], { names: [key] });
  logits.dispose();
  const rows = mx.tidy(() => mx.astype(mx.index(cache.get(key), 0), "float32").tolist() as number[][]);
  cache.dispose();
  return rows;
}

const meanOf = (rows: number[][]) =>
  (rows[0] as number[]).map((_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / rows.length);
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** The hand-computed vector: per prompt its last row (or its mean), per set the mean, difference. */
function handVector(hm: HookedModel, key: string, at: "last" | "mean", positives: number[][], negatives: number[][]) {
  const read = (prompts: number[][]) =>
    prompts.map((p) => {
      const rows = ownRows(hm, p, key);
      return at === "last" ? [rows.at(-1) as number[]] : rows; // no BOS in token-id prompts
    });
  const pos = read(positives);
  const neg = read(negatives);
  const vector = meanOf(pos.map(meanOf)).map((x, j) => x - (meanOf(neg.map(meanOf))[j] as number));
  const all = [...pos, ...neg].flat();
  return {
    vector,
    norm: norm(vector),
    residualNorm: all.reduce((s, r) => s + norm(r), 0) / all.length,
    largest: Math.max(...all.flat().map(Math.abs)),
  };
}

/** alpha·v as float32, rounded as MLX's float32 multiply rounds it. */
function scaled(v: SteeringVector, alpha: number): Float32Array {
  return Float32Array.from(v.vector, (x) => Math.fround(x * Math.fround(alpha)));
}

/**
 * Checks greedy tokens generated with steering against one forward pass without a KV cache over the
 * prompt and those tokens, alpha·v added by a hand-written hook at `where` positions: each token
 * must be that pass's most likely next token at its step. Ties within TIE_TOLERANCE pass: the
 * cached decode and the full pass multiply different shapes, which round differently.
 */
function assertUncachedGreedy(
  hm: HookedModel,
  prompt: number[],
  generated: number[],
  v: SteeringVector,
  alpha: number,
  where: (position: number, promptLength: number) => boolean,
  label: string,
): void {
  const add = mx.array(scaled(v, alpha));
  const sequence = [...prompt, ...generated.slice(0, -1)];
  const hook = (x: mx.Array) => {
    const length = x.shape[1] as number;
    const mask = Array.from({ length }, (_, p) => (where(p, prompt.length) ? 1 : 0));
    const added = mx.multiply(mx.reshape(mx.array(mask, "float32"), [1, length, 1]), add);
    return mx.add(x, mx.astype(added, x.dtype));
  };
  const rows = mx.tidy(() => {
    const logits = hm.runWithHooks([sequence], { hooks: [[v.key, hook]] });
    return mx.astype(mx.index(logits, 0, `${prompt.length - 1}:`, ":"), "float32").tolist() as number[][];
  });
  add.dispose();
  generated.forEach((token, i) => {
    const row = rows[i] as number[];
    const best = Math.max(...row);
    const tie = halfOnGpu(hm) && hm.config.dtype === "bfloat16" ? BF16_GPU_TIE_TOLERANCE : TIE_TOLERANCE;
    assert.ok(
      (row[token] as number) >= best - tie,
      `${label}: step ${i} chose ${token} (logit ${row[token]}), the uncached pass's best is ${row.indexOf(best)} (${best})`,
    );
  });
}

for (const { label, dir, short } of MODELS) {
  const { positives: POSITIVES, negatives: NEGATIVES, prompt: PROMPT } = prompts(short);
  describe(`steering on ${label}`, () => {
    let hm: HookedModel;
    before(async () => {
      hm = await HookedModel.fromPretrained(dir);
    });
    after(() => hm.model.dispose?.());

    test("the vector equals the mean difference computed by hand from each prompt's own run", () => {
      const layer = Math.floor(hm.layers / 2);
      const cases = [
        ["resid_post", "last"],
        ["resid_pre", "mean"],
      ] as const;
      for (const [site, at] of short ? cases.slice(1) : cases) {
        const v = steeringVector(hm, POSITIVES, NEGATIVES, { layer, at, site });
        const hand = handVector(hm, `${site}.${layer}`, at, POSITIVES, NEGATIVES);
        assert.equal(v.vector.length, hm.model.layout.dims.dModel);
        // In bfloat16 or float16 on a GPU, batched rows round apart by an ulp (half-on-gpu.ts):
        // two ulps of the largest residual entry, and two ulps relative for the mean norm.
        const half = halfOnGpu(hm);
        const tolerance = half ? 2 * relativeUlp(hm) * hand.largest : VECTOR_TOLERANCE;
        const worst = Math.max(...hand.vector.map((x, j) => Math.abs(x - (v.vector[j] as number))));
        assert.ok(worst <= tolerance, `${site} ${at}: |difference| ${worst}`);
        assert.ok(Math.abs(v.norm - hand.norm) <= tolerance * Math.sqrt(v.vector.length), `${site} ${at} norm`);
        assert.ok(
          Math.abs(v.residualNorm - hand.residualNorm) <= (half ? 2 * relativeUlp(hm) : 1e-4) * hand.residualNorm,
          `${site} ${at} residual norm`,
        );
        assert.ok(v.norm > 0);
        assert.equal(v.suggestedAlpha, Number(((0.5 * v.residualNorm) / v.norm).toPrecision(2)));
        assert.deepEqual(Object.keys(v.toJSON()).sort(), [
          "at",
          "layer",
          "negatives",
          "norm",
          "positives",
          "residualNorm",
          "site",
          "suggestedAlpha",
          "suggestedShare",
          "vector",
        ]);
      }
    });

    test("steered logits equal a hand-written hook that adds the vector (all positions; chosen positions of a padded batch)", () => {
      const layer = hm.layers - 1;
      const v = steeringVector(hm, POSITIVES, NEGATIVES, { layer });
      const alpha = 3 * v.suggestedAlpha;
      const add = mx.array(scaled(v, alpha));
      const ours = steer(hm, v, { alpha }, () => hm.forward([PROMPT]));
      const hand = hm.runWithHooks([PROMPT], { hooks: [[v.key, (x) => mx.add(x, mx.astype(add, x.dtype))]] });
      assert.equal(mx.arrayEqual(ours, hand).item(), true);
      const plain = hm.forward([PROMPT]);
      assert.equal(mx.arrayEqual(ours, plain).item(), false, "steering changes the logits");

      // Positions [1, -1] of two prompts of different lengths: each row's own second and last token.
      const batch = [PROMPT, PROMPT.slice(0, 3)];
      const oursBatch = steer(hm, v, { alpha, positions: [1, -1] }, () => hm.forward(batch));
      const padded = hm.padBatch(batch);
      const handBatch = hm.runWithHooks(batch, {
        hooks: [
          [
            v.key,
            (x) => {
              const mask = padded.leftPadding.map((pad, b) =>
                Array.from({ length: padded.length }, (_, p) =>
                  p === pad + 1 || p === pad + (batch[b] as number[]).length - 1 ? 1 : 0,
                ),
              );
              const added = mx.multiply(mx.expandDims(mx.array(mask, "float32"), -1), add);
              return mx.add(x, mx.astype(added, x.dtype));
            },
          ],
        ],
      });
      assert.equal(mx.arrayEqual(oursBatch, handBatch).item(), true);
      assert.deepEqual(hm.hookedPaths(), [], "nothing stays installed after the scope");
      for (const a of [ours, hand, plain, oursBatch, handBatch, add]) a.dispose();
    });

    test("steered generation equals a loop without KV cache that adds the vector by position; alpha 0 is the unsteered text", () => {
      const layer = Math.min(1, hm.layers - 1);
      const v = steeringVector(hm, POSITIVES, NEGATIVES, { layer });
      const alpha = 4 * v.suggestedAlpha;
      const steps = short ? 3 : 6;
      const prompt = PROMPT;
      const plain = hm.completeText(prompt, { maxTokens: steps }).tokenIds;
      const unsteered = hm.completeText(prompt, { maxTokens: steps, ...steeringHooks(hm, v, { alpha: 0 }) });
      assert.deepEqual(unsteered.tokenIds, plain);
      const cases: [SteeringPositions, (p: number, length: number) => boolean][] = [
        ["all", () => true],
        ["last", (p, length) => p >= length - 1],
        ["generated", (p, length) => p >= length],
      ];
      let changed = 0;
      for (const [positions, where] of cases) {
        const ours = hm.completeText(prompt, { maxTokens: steps, ...steeringHooks(hm, v, { alpha, positions }) });
        assertUncachedGreedy(hm, prompt, ours.tokenIds, v, alpha, where, String(positions));
        if (JSON.stringify(ours.tokenIds) !== JSON.stringify(plain)) changed++;
      }
      assert.ok(changed > 0, "steering changes the generated tokens");
    });
  });
}

describe("steering the bundled KJV model (tiny-lm-f16)", () => {
  let hm: HookedModel;
  before(async () => {
    hm = await HookedModel.fromPretrained(join(repoRoot, "fixtures", "tiny-lm-f16"));
  });
  after(() => hm.model.dispose?.());
  // Gospel sentences about Jesus against Torah sentences about Moses.
  const jesus = [
    "And Jesus answered and said unto them,",
    "Then said Jesus unto his disciples,",
    "And Jesus went about all Galilee,",
    "Jesus saith unto him,",
  ];
  const moses = [
    "And Moses said unto the people,",
    "And the LORD spake unto Moses, saying,",
    "And Moses went up unto God,",
    "Moses commanded us a law,",
  ];

  test("steering towards Jesus raises the log-probability of ' Jesus' (and against ' Moses') monotonically with alpha", () => {
    const tokenizer = hm.tokenizer as NonNullable<HookedModel["tokenizer"]>;
    const [jesusId, more] = tokenizer.encode(" Jesus", { addSpecialTokens: false });
    const [mosesId] = tokenizer.encode(" Moses", { addSpecialTokens: false });
    assert.equal(more, undefined, "' Jesus' is one token");
    const v = steeringVector(hm, jesus, moses, { layer: 2 });
    const s = v.suggestedAlpha;
    const logProbs = [-s, -s / 2, 0, s / 2, s].map((alpha) =>
      steer(hm, v, { alpha }, () =>
        mx.tidy(() => {
          const logits = mx.astype(mx.index(hm.forward("And when he had said these things,"), 0, -1, ":"), "float32");
          const lp = mx.subtract(logits, mx.logsumexp(logits));
          return [mx.index(lp, jesusId as number).item(), mx.index(lp, mosesId as number).item()] as number[];
        }),
      ),
    );
    const jesusLp = logProbs.map(([j]) => j as number);
    const margin = logProbs.map(([j, m]) => (j as number) - (m as number));
    for (let i = 1; i < logProbs.length; i++) {
      assert.ok((jesusLp[i] as number) > (jesusLp[i - 1] as number), `log p(Jesus) rises: ${jesusLp}`);
      assert.ok((margin[i] as number) > (margin[i - 1] as number), `log p(Jesus) - log p(Moses) rises: ${margin}`);
    }
    // At the suggested alpha the effect is large: more than a nat either way.
    assert.ok(
      (jesusLp[4] as number) - (jesusLp[2] as number) > 1 && (jesusLp[2] as number) - (jesusLp[0] as number) > 1,
    );
  });

  test("compareSteering: three generations, alpha 0 the unsteered text, the others steered as steeringHooks", () => {
    const v = steeringVector(hm, jesus, moses, { layer: 2 });
    const prompt = "And when he had said these things,";
    const comparison = compareSteering(hm, prompt, v, { maxTokens: 12 });
    const s = v.suggestedAlpha;
    assert.deepEqual(
      comparison.generations.map((g) => g.alpha),
      [-s, 0, s],
    );
    assert.equal(comparison.baseline?.text, hm.completeText(prompt, { maxTokens: 12 }).text);
    const plus = hm.completeText(prompt, { maxTokens: 12, ...steeringHooks(hm, v, { alpha: s }) });
    assert.equal(comparison.generations[2]?.text, plus.text);
    assert.notEqual(plus.text, comparison.baseline?.text);
    const json = comparison.toJSON();
    assert.equal(json.generations.length, 3);
    assert.equal(json.steering.layer, 2);
    assert.equal("vector" in json.steering, false, "the comparison's JSON leaves the raw vector out");
  });

  test("steeredGenerations: read piece by piece (asynchronously, as a server streams), the texts are compareSteering's", async () => {
    const v = steeringVector(hm, jesus, moses, { layer: 1 });
    const prompt = "And when he had said these things,";
    const options = { maxTokens: 10, temperature: 0.7, positions: "generated" as const };
    const runs = steeredGenerations(hm, prompt, v, options);
    const streamed: string[] = [];
    for (const run of runs) {
      let text = "";
      for await (const piece of run.generation) text += piece;
      streamed.push(text);
    }
    const comparison = compareSteering(hm, prompt, v, options);
    assert.deepEqual(
      runs.map((r) => r.alpha),
      comparison.generations.map((g) => g.alpha),
    );
    assert.deepEqual(
      streamed,
      comparison.generations.map((g) => g.text),
    );
    assert.notEqual(streamed[0], streamed[2], "-alpha and +alpha make different texts");
    assert.throws(() => steeredGenerations(hm, prompt, v, { alphas: [Number.NaN] }), /alphas must be/);
  });

  test("nothing stays installed after steer, also when fn throws", () => {
    const v = steeringVector(hm, jesus, moses, { layer: 1 });
    assert.throws(
      () =>
        steer(hm, v, { alpha: 1 }, () => {
          assert.ok(hm.hookedPaths().length > 0);
          throw new Error("inside");
        }),
      /inside/,
    );
    assert.deepEqual(hm.hookedPaths(), []);
  });

  test("bad options are refused, naming the option and the valid values", () => {
    const v = steeringVector(hm, jesus, moses, { layer: 1 });
    const vectorCases: [Record<string, unknown>, RegExp][] = [
      [{ layer: 4 }, /layer must be a whole number from 0 to 3, got 4/],
      [{ layer: 1.5 }, /layer must be a whole number from 0 to 3/],
      [{}, /layer must be a whole number from 0 to 3, got undefined/],
      [{ layer: 1, at: "first" }, /at must be "last" or "mean", got "first"/],
      [{ layer: 1, site: "attn_out" }, /site must be resid_post or resid_pre, got "attn_out"/],
      [{ layer: 1, position: 3 }, /unknown option "position"/],
    ];
    for (const [options, message] of vectorCases) {
      assert.throws(() => steeringVector(hm, jesus, moses, options as never), message, JSON.stringify(options));
    }
    const steerCases: [Record<string, unknown>, RegExp][] = [
      [{}, /alpha must be a finite number \(the vector's suggestedAlpha is [\d.]+\), got undefined/],
      [{ alpha: Number.NaN }, /alpha must be a finite number/],
      [{ alpha: 1, layers: [9] }, /layer must be a whole number from 0 to 3, got 9/],
      [{ alpha: 1, layers: [] }, /layers must be a non-empty list/],
      [{ alpha: 1, positions: "first" }, /positions must be "all", "last", "generated" or a non-empty list/],
      [{ alpha: 1, positions: [0.5] }, /positions must be/],
    ];
    for (const [options, message] of steerCases) {
      assert.throws(() => steeringHooks(hm, v, options as never), message, JSON.stringify(options));
    }
    const foreign = new SteeringVector(new Float32Array(7), 1, "resid_post", "last", 1, 1, 1, 1);
    assert.throws(
      () => steeringHooks(hm, foreign, { alpha: 1 }),
      /the vector has 7 dimensions; this model's residual stream has 256/,
    );
    assert.throws(
      () => compareSteering(hm, "In", v, { alphas: [] }),
      /alphas must be a non-empty list of finite numbers/,
    );
    assert.throws(() => compareSteering(hm, "In", v, { maxTokens: -2 }), /maxTokens must be a whole number >= 0/);
  });
});
