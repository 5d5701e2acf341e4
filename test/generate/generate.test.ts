// generateStep's pipelined loop: the same tokens and log-probabilities as a loop that reads each
// token before building the next step (greedy, seeded sampling, logits processors); mlx-lm's
// results with a logits processor; no arrays left behind however the caller stops; the cache left
// as mlx-lm leaves it; a sampler's out-of-range token is an error, not a crash.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadModel, mx } from "mlux";
import { type GenerateStepOptions, generateStep, generateTokens } from "../../src/generate/generate.ts";
import { greedy, makeSampler, repetitionPenalty } from "../../src/generate/sampling.ts";
import type { KVCache } from "../../src/models/cache/kv-cache.ts";
import type { CausalLM, LayerCache } from "../../src/models/causal-lm.ts";
import { assertClose } from "../oracle/oracle.ts";
import { askOracle, repoRoot as root } from "../oracle/python.ts";

const modelDir = join(root, "fixtures", "tiny-lm-f16");
const gemmShim = join(
  process.env.MLUX_CACHE_DIR ?? join(root, ".mlx"),
  "mlx-cpu-0.32.4",
  "mlux_gemm",
  "libmlux_gemm.so",
);

const { model } = await loadModel(modelDir, { dtype: "native" });
after(() => model.dispose());
// The arrays loading dropped are freed before any count below is taken (the garbage collector frees
// dropped arrays whenever it runs, also in the middle of a synchronous test).
await new Promise((resolve) => setImmediate(resolve));
globalThis.gc?.();
const prompt = [12, 845, 9, 301, 77, 2048, 5, 12];

// The loop without pipelining: each token is evaluated and read before the next step is built.
function unpipelined(
  lm: CausalLM,
  ids: readonly number[],
  options: GenerateStepOptions & { maxTokens: number },
): { tokens: number[]; logprobs: mx.Array[] } {
  const sampler = options.sampler ?? greedy;
  const cache = lm.makeCache();
  const seen = [...ids];
  const out = { tokens: [] as number[], logprobs: [] as mx.Array[] };
  mx.tidy(() => mx.eval(lm.call(mx.array([ids.slice(0, -1)]), cache)));
  let next = ids.slice(-1);
  for (let n = 0; n < options.maxTokens; n++) {
    const [token, lp] = mx.tidy(() => {
      let logits = mx.index(lm.call(mx.array([next]), cache), ":", -1, ":");
      for (const process of options.logitsProcessors ?? []) logits = process(seen, logits);
      const lp = mx.subtract(logits, mx.logsumexp(logits, { axis: -1, keepdims: true }));
      const chosen = sampler(lp);
      mx.eval(chosen, lp);
      return [chosen.item() as number, mx.squeeze(lp, 0)] as const;
    });
    seen.push(token);
    out.tokens.push(token);
    out.logprobs.push(lp);
    next = [token];
  }
  for (const c of cache) c.dispose();
  return out;
}

function pipelined(options: GenerateStepOptions & { maxTokens: number }): { tokens: number[]; logprobs: mx.Array[] } {
  const out = { tokens: [] as number[], logprobs: [] as mx.Array[] };
  for (const { token, logprobs } of generateStep(model, prompt, options)) {
    out.tokens.push(token);
    out.logprobs.push(logprobs);
  }
  return out;
}

function assertSameSteps(
  ours: { tokens: number[]; logprobs: mx.Array[] },
  reference: { tokens: number[]; logprobs: mx.Array[] },
): void {
  assert.deepEqual(ours.tokens, reference.tokens);
  ours.logprobs.forEach((lp, i) => {
    assertClose(lp, reference.logprobs[i] as mx.Array, { atol: 0 }, `step ${i} log-probabilities`);
  });
  for (const lp of [...ours.logprobs, ...reference.logprobs]) lp.dispose();
}

describe("the pipelined loop computes what the step-by-step loop computes", () => {
  test("greedy", () => {
    const live = mx.liveArrays();
    assertSameSteps(pipelined({ maxTokens: 12 }), unpipelined(model, prompt, { maxTokens: 12 }));
    assert.equal(mx.liveArrays(), live);
  });

  test("sampling with a key: the same draws in the same order", () => {
    const live = mx.liveArrays();
    const options = (): GenerateStepOptions & { maxTokens: number } => ({
      maxTokens: 12,
      sampler: mx.tidy(() => makeSampler({ temperature: 1.2, key: mx.random.key(7) })),
    });
    const runs = [options(), options()] as const;
    assertSameSteps(pipelined(runs[0]), unpipelined(model, prompt, runs[1]));
    // Read with the samplers still held: a dropped sampler's key goes with it.
    assert.equal(mx.liveArrays(), live + runs.length, "only the two samplers' own keys remain");
  });

  test("sampling from the global generator, seeded", () => {
    const sampler = makeSampler({ temperature: 1.5 });
    mx.random.seed(5);
    const ours = pipelined({ maxTokens: 12, sampler });
    mx.random.seed(5);
    assertSameSteps(ours, unpipelined(model, prompt, { maxTokens: 12, sampler }));
  });

  test("with logits processors (tokens read before the next step), seeded sampling included", () => {
    const live = mx.liveArrays();
    const seenLengths: number[] = [];
    const counting = (tokens: number[], logits: mx.Array) => {
      seenLengths.push(tokens.length);
      return logits;
    };
    const options = (): GenerateStepOptions & { maxTokens: number } => ({
      maxTokens: 10,
      sampler: mx.tidy(() => makeSampler({ temperature: 0.9, key: mx.random.key(3) })),
      logitsProcessors: [repetitionPenalty(1.8, 6), counting],
    });
    const runs = [options(), options()] as const;
    const ours = pipelined(runs[0]);
    // Every step sees the prompt and every token before it, the one step past the last included.
    assert.deepEqual(
      seenLengths,
      Array.from({ length: 11 }, (_, i) => prompt.length + i),
    );
    assertSameSteps(ours, unpipelined(model, prompt, runs[1]));
    // Read with the samplers still held: a dropped sampler's key goes with it.
    assert.equal(mx.liveArrays(), live + runs.length, "only the two samplers' own keys remain");
  });
});

test("with a repetition penalty, the same tokens as mlx-lm's generate_step", async () => {
  const env = process.platform === "linux" ? { ...process.env, LD_PRELOAD: gemmShim } : process.env;
  const [reference] = await askOracle<{ tokens: number[] }>(
    "generation",
    [
      {
        op: "logits_and_tokens",
        dir: modelDir,
        ids: prompt,
        max_tokens: 16,
        repetition_penalty: 1.8,
        repetition_context_size: 6,
      },
    ],
    env,
  );
  const ours = generateTokens(model, prompt, { maxTokens: 16, logitsProcessors: [repetitionPenalty(1.8, 6)] });
  assert.deepEqual(ours, reference?.tokens);
  assert.notDeepEqual(ours, generateTokens(model, prompt, { maxTokens: 16 }), "the penalty changes the text");
});

describe("no arrays are left behind", () => {
  test("when the caller breaks out early, returns, or throws", () => {
    // Arrays earlier tests dropped (the samplers' keys) are freed first, not whenever a collection
    // happens to run during the loops below.
    globalThis.gc?.();
    const live = mx.liveArrays();
    for (const { logprobs } of generateStep(model, prompt, { maxTokens: 50 })) {
      logprobs.dispose();
      break;
    }
    assert.equal(mx.liveArrays(), live, "break after the first token");

    const steps = generateStep(model, prompt, { maxTokens: 50 });
    for (let i = 0; i < 3; i++) (steps.next().value as { logprobs: mx.Array }).logprobs.dispose();
    steps.return(undefined);
    assert.equal(mx.liveArrays(), live, "return() after three tokens");

    assert.throws(() => {
      for (const { logprobs } of generateStep(model, prompt, { maxTokens: 50 })) {
        logprobs.dispose();
        throw new Error("the consumer fails");
      }
    }, /the consumer fails/);
    assert.equal(mx.liveArrays(), live, "a throwing consumer");

    const unstarted = generateStep(model, prompt, { maxTokens: 5 });
    unstarted.return(undefined);
    assert.deepEqual([...generateStep(model, prompt, { maxTokens: 0 })], []);
    assert.equal(mx.liveArrays(), live, "nothing generated");
  });

  test("when each token is taken inside a tidy scope, its logprobs belong to that scope", () => {
    const live = mx.liveArrays();
    const expected = generateTokens(model, prompt, { maxTokens: 6 });
    const steps = generateStep(model, prompt, { maxTokens: 6 });
    const got: number[] = [];
    const held: number[] = [];
    for (;;) {
      const token = mx.tidy(() => {
        const next = steps.next();
        return next.done ? undefined : next.value.token;
      });
      if (token === undefined) break;
      got.push(token);
      held.push(mx.liveArrays() - live);
    }
    // Between tokens only the cache and the step in flight are held, the same number each time.
    assert.ok(
      held.every((n) => n === held[0]),
      `arrays held between tokens: ${held}`,
    );
    assert.deepEqual(got, expected);
    assert.equal(mx.liveArrays(), live);
  });
});

test("prefill computes the cache, not the logits of the prompt chunks (as mlx-lm)", () => {
  const dir = mkdtempSync(join(tmpdir(), "mlux-generate-"));
  try {
    // Logits of a multi-token pass that cannot be computed: reading them fails.
    const path = mx.saveSafetensors(join(dir, "poison"), { p: mx.zeros([4096], "float16") });
    const { p: poison } = mx.loadSafetensors(path).arrays as { p: mx.Array };
    truncateSync(path, 10);
    const expected = generateTokens(model, prompt, { maxTokens: 4 });
    const forward = model.forward;
    model.forward = (inputs: mx.Array, cache?: LayerCache[]) => {
      const logits = forward.call(model, inputs, cache);
      return inputs.shape[1] === 1 ? logits : mx.add(logits, poison);
    };
    try {
      assert.deepEqual(generateTokens(model, prompt, { maxTokens: 4, prefillStepSize: 3 }), expected);
    } finally {
      model.forward = forward;
      poison.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a cache passed in holds the prompt and every token yielded, as mlx-lm's", () => {
  // mlx-lm 0.32.2 on this prompt of 8: generate_step(max_tokens=3) leaves offset 11, and stopping
  // after 2 of 10 leaves 10 (the step after the last token yielded has already been computed).
  const cache = model.makeCache();
  for (const { logprobs } of generateStep(model, prompt, { maxTokens: 3, cache })) logprobs.dispose();
  assert.equal((cache[0] as KVCache).offset, prompt.length + 3);
  for (const c of cache) c.dispose();
  const early = model.makeCache();
  let taken = 0;
  for (const { logprobs } of generateStep(model, prompt, { maxTokens: 10, cache: early })) {
    logprobs.dispose();
    if (++taken === 2) break;
  }
  assert.equal((early[0] as KVCache).offset, prompt.length + 2);
  for (const c of early) c.dispose();
});

test("a sampler's token outside the embedding is a RangeError, not a crash", () => {
  const live = mx.liveArrays();
  const vocab = 4096;
  // Negative ids too: take() would count them from the end of the table.
  for (const bad of [vocab, vocab + 100_000, -vocab - 1, -1]) {
    const sampler = (lp: mx.Array) => mx.tidy(() => mx.add(mx.multiply(mx.astype(greedy(lp), "int32"), 0), bad));
    assert.throws(() => generateTokens(model, prompt, { maxTokens: 3, sampler }), {
      name: "RangeError",
      message: new RegExp(
        `the sampler chose token ${bad}, out of range for the model's embedding \\(valid: 0 to ${vocab - 1}\\)`,
      ),
    });
  }
  // A uint32 token (argmax's dtype) past the table is bounded in the graph by a minimum alone.
  const past = (lp: mx.Array) => mx.tidy(() => mx.add(greedy(lp), mx.array(vocab + 7, "uint32")));
  assert.throws(() => generateTokens(model, prompt, { maxTokens: 3, sampler: past }), {
    name: "RangeError",
    message: /the sampler chose token \d+, out of range/,
  });
  assert.equal(mx.liveArrays(), live);
  assert.equal(generateTokens(model, prompt, { maxTokens: 2 }).length, 2);
});
