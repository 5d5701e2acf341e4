// HookedModel against mlx-lm's own modules, on every architecture: tools/oracle/hooks.py
// wraps each module of the mlx-lm model tree to record its output (and the output projection's
// input), zero-ablates and patches there, and computes attention patterns from the queries and
// keys mlx-lm's attention made. The same prompts, paths and interventions run here through hooks.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import {
  checkpoints,
  isHookPoint,
  maxAbsDiff,
  type OracleJob,
  type OracleResult,
  promptIds,
  runHooksOracle,
} from "./checkpoints.ts";

// Activations are compared exactly: hooks read what the model computes, and the model runs the
// same libmlx kernels on the same GEMM as mlx-lm (the logits parity test is bit-exact), so any
// difference would be the hooks changing the computation or reading the wrong value.
const EXACT = 0;
// Interventions and patterns: 1e-5 (fp32). An ablated or patched forward runs the same kernels as
// mlx-lm's and is expected exact too; the patterns here are recomputed from q and k by another
// sequence of ops (Python: (q·kᵀ)·scale, -inf mask; ours: the model's attention, (q·scale)·kᵀ and
// the lowest finite value), so they agree to rounding. The q4 checkpoints compute in bfloat16
// (their scales and norms are bfloat16), where that rounding is bfloat16's: patterns (values in
// [0, 1], one ulp at most 2^-8) are allowed 4 ulps of the largest values.
const CLOSE = 1e-5;
// CLOSE is about float32 products (float32-products.ts): with TF32 the qwen3 and gemma2 fp32
// patterns, recomputed by the two sides in different orders, differed by 1.8e-4 and 3.5e-4 on an H100.
const BF16_PATTERN = 2 ** -6;
// On a GPU the two sides' score products have other shapes (ours grouped by KV head, the oracle's
// with the keys repeated) and may sum in another order, moving a bfloat16 score by an ulp (1/16 for
// scores of 8 to 16) and a probability by up to a quarter of that: on an H100 the llama and granite
// q4 patterns differed by 0.051 and 0.047. Allowed there: 2^-4. At 5e6a649 the last layer's differed
// by 0.078 and 0.16, more than scores an ulp apart explain (llama's largest score, 15.7, bounds a
// probability's move at about 1/32): caching the patterns then also made every layer's output the
// written-out attention's, so the last layer's q and k were not mlx-lm's. Hooks that only read now
// leave the output the fused kernel's (multihead.ts); not yet rerun on a GPU.
const BF16_PATTERN_GPU = 2 ** -4;

// The largest |q·kᵀ| · scale of a layer, in float32 from the cached q [B, H, L, d] and k [B, Hkv, L, d]:
// said when a pattern differs (bfloat16 rounds scores to 8 significant bits at that size).
function largestScore(q: mx.Array, k: mx.Array, scale: number): number {
  return mx.tidy(() => {
    const keys = mx.repeat(mx.astype(k, "float32"), (q.shape[1] as number) / (k.shape[1] as number), 1);
    const scores = mx.matmul(mx.astype(q, "float32"), mx.swapaxes(keys, -1, -2));
    return (mx.max(mx.abs(scores)).item() as number) * Math.abs(scale);
  });
}

function closeFor(a: mx.Array): number {
  if (a.dtype !== "bfloat16") return CLOSE;
  return mx.runtimeInfo.device === "cpu" ? BF16_PATTERN : BF16_PATTERN_GPU;
}

const CASES = checkpoints();
const CLEAN = promptIds(1);
// The corrupted prompt differs at two positions; the clean layer-0 output is patched in at one.
const CORRUPTED = CLEAN.map((id, i) => (i === 4 || i === 11 ? 3 + ((id + 4000) % 8000) : id));
const PATCH_POSITIONS = [4];
// A pre-hook zeroes the stream entering layer 1 at these positions.
const ZEROED_POSITIONS = [2, 7];

interface Plan {
  hm: HookedModel;
  mlp: string;
  attention: string;
  /** Query heads of the attention layers. */
  heads: number;
  patchLayer: string;
  /** Attention path → its output projection's path, for every attention layer. */
  outputProjections: Map<string, string>;
  attentionLayers: number[];
}

const plans = new Map<string, Plan>();
const oracle = new Map<string, OracleResult>();

// Zeroed in the head-ablation test: a head of the first attention layer.
const ABLATED_HEAD = 1;

function plan(hm: HookedModel, config: Record<string, unknown>): Plan {
  const paths = new Set(hm.paths());
  const layer1 = hm.names.layerPaths[1] as string;
  const mlp = [`${layer1}.mlp`, `${layer1}.feed_forward`].find((p) => paths.has(p));
  assert.ok(mlp, `no MLP found in ${layer1}`);
  const attentionLayers = hm.names.attentionPaths.flatMap((p, i) => (p === undefined ? [] : [i]));
  const outputProjections = new Map<string, string>();
  for (const layer of attentionLayers) {
    const attention = hm.names.attentionPaths[layer] as string;
    const out = ["o_proj", "c_proj", "dense", "out_proj"].map((n) => `${attention}.${n}`).find((p) => paths.has(p));
    assert.ok(out, `no output projection in ${attention}`);
    outputProjections.set(attention, out);
  }
  return {
    hm,
    mlp,
    attention: hm.names.attentionPaths[attentionLayers[0] as number] as string,
    heads: (config.num_attention_heads ?? config.n_head) as number,
    patchLayer: hm.names.layerPaths[0] as string,
    outputProjections,
    attentionLayers,
  };
}

before(async () => {
  const jobs: OracleJob[] = [];
  for (const c of CASES) {
    const p = plan(await HookedModel.fromPretrained(c.dir, { dtype: "native" }), c.config);
    plans.set(c.label, p);
    jobs.push({
      checkpoint: c.dir,
      tokens: CLEAN,
      corrupted: CORRUPTED,
      inputs_of: [...p.outputProjections.values(), ...p.hm.names.layerPaths],
      ablate: [p.mlp, p.attention],
      ablate_heads: [
        { projection: p.outputProjections.get(p.attention) as string, head: ABLATED_HEAD, heads: p.heads },
      ],
      patch: [{ path: p.patchLayer, positions: PATCH_POSITIONS }],
      zero_inputs: [{ path: p.hm.names.layerPaths[1] as string, positions: ZEROED_POSITIONS }],
      patterns: p.attentionLayers.map((layer) => ({
        attention: p.hm.names.attentionPaths[layer] as string,
        layer,
      })),
    });
  }
  const results = runHooksOracle(jobs);
  for (const [i, c] of CASES.entries()) oracle.set(c.label, results[i] as OracleResult);
});

after(() => {
  for (const p of plans.values()) p.hm.model.dispose();
  for (const r of oracle.values()) for (const a of Object.values(r.arrays)) a.dispose();
});

function python(label: string, key: string): mx.Array {
  const found = oracle.get(label)?.arrays[key];
  assert.ok(found, `the Python oracle recorded no "${key}"`);
  return found;
}

/** Runs `fn` with a hook on every module (hook points aside) that keeps each call's output. */
function recordEveryCall(hm: HookedModel, fn: () => mx.Array): { logits: mx.Array; calls: Map<string, mx.Array[]> } {
  const calls = new Map<string, mx.Array[]>();
  const handle = hm.addHook(
    (path) => !isHookPoint(path),
    (output, ctx) => {
      if (!(output instanceof mx.Array)) return;
      const list = calls.get(ctx.path) ?? [];
      list.push(mx.keep(mx.array(output)));
      calls.set(ctx.path, list);
    },
  );
  try {
    return { logits: fn(), calls };
  } finally {
    handle.remove();
  }
}

for (const c of CASES) {
  describe(`${c.label}: hooks see and change what mlx-lm's modules do`, () => {
    test("module paths are mlx-lm's", () => {
      const { hm } = plans.get(c.label) as Plan;
      const ours = hm.paths().filter((p) => !isHookPoint(p));
      assert.deepEqual([...ours].sort(), [...(oracle.get(c.label) as OracleResult).paths].sort());
    });

    test("every module's output, at every call, equals what the mlx-lm module returned", (t) => {
      const { hm } = plans.get(c.label) as Plan;
      const { logits, calls } = recordEveryCall(hm, () => hm.forward([CLEAN]));
      let worst = 0;
      let compared = 0;
      try {
        const pythonCalls = Object.keys((oracle.get(c.label) as OracleResult).arrays).filter((k) =>
          k.startsWith("out:"),
        );
        const pythonPaths = new Set(pythonCalls.map((k) => k.slice(4, k.lastIndexOf("#"))));
        assert.deepEqual([...calls.keys()].sort(), [...pythonPaths].sort(), "the modules called");
        for (const [path, outputs] of calls) {
          const count = pythonCalls.filter((k) => k.startsWith(`out:${path}#`)).length;
          assert.equal(outputs.length, count, `${path} is called ${count} time(s) in mlx-lm`);
          outputs.forEach((output, i) => {
            const expected = python(c.label, `out:${path}#${i}`);
            assert.equal(output.dtype, expected.dtype, `${path} call ${i} dtype`);
            const diff = maxAbsDiff(output, expected, `${path} call ${i}`);
            assert.ok(diff <= EXACT, `${path} call ${i}: max |diff| ${diff}`);
            worst = Math.max(worst, diff);
            compared++;
          });
        }
        const logitsDiff = maxAbsDiff(mx.astype(logits, "float32"), python(c.label, "logits"), "logits");
        assert.ok(logitsDiff <= EXACT, `logits: max |diff| ${logitsDiff}`);
        t.diagnostic(`${compared} module calls compared, max |diff| ${worst}`);
      } finally {
        logits.dispose();
        for (const list of calls.values()) for (const a of list) a.dispose();
      }
    });

    test("runWithCache by path holds what each mlx-lm module returned", (t) => {
      const { hm } = plans.get(c.label) as Plan;
      const { logits, cache } = hm.runWithCache([CLEAN], { names: (path) => !isHookPoint(path) });
      let worst = 0;
      try {
        const paths = (oracle.get(c.label) as OracleResult).paths;
        for (const path of paths) {
          const calls = Object.keys((oracle.get(c.label) as OracleResult).arrays).filter((k) =>
            k.startsWith(`out:${path}#`),
          ).length;
          if (calls === 0) continue; // a module mlx-lm holds but does not call (a tied head)
          // A module called twice (rope: queries, then keys) keeps its last call in the cache.
          const diff = maxAbsDiff(cache.get(path), python(c.label, `out:${path}#${calls - 1}`), path);
          assert.ok(diff <= EXACT, `${path}: max |diff| ${diff}`);
          worst = Math.max(worst, diff);
        }
        t.diagnostic(`max |diff| ${worst}`);
      } finally {
        logits.dispose();
        cache.dispose();
      }
    });

    test("standard names on module boundaries (embed, resid_pre, resid_post, ln_final) are mlx-lm's values", (t) => {
      const { hm } = plans.get(c.label) as Plan;
      const keys = hm
        .standardKeys()
        .filter((k) => /^(embed|pos_embed|ln_final|resid_pre\.\d+|resid_post\.\d+)$/.test(k));
      // `embed` is `resid_pre.0` in families without learned positions: one activation under two
      // names, each asked in a run of its own so each is read under its own name.
      const seen = new Set<string>();
      const runs: string[][] = [[], []];
      for (const key of keys) {
        const target = hm.names.target(key) as { path: string; input: boolean };
        const place = `${target.path}|${target.input}`;
        (runs[seen.has(place) ? 1 : 0] as string[]).push(key);
        seen.add(place);
      }
      for (const names of runs.filter((r) => r.length > 0)) {
        const { logits, cache } = hm.runWithCache([CLEAN], { names });
        logits.dispose();
        try {
          for (const key of names) {
            const target = hm.names.target(key) as { path: string; input: boolean };
            const expected = python(c.label, `${target.input ? "in" : "out"}:${target.path}#0`);
            const diff = maxAbsDiff(cache.get(key), expected, key);
            assert.ok(diff <= EXACT, `${key} (${target.path}${target.input ? " input" : ""}): max |diff| ${diff}`);
          }
        } finally {
          cache.dispose();
        }
      }
      t.diagnostic(keys.join(" "));
    });

    test("zero-ablation of an MLP and of an attention module gives mlx-lm's logits", (t) => {
      const p = plans.get(c.label) as Plan;
      const diffs: string[] = [];
      for (const path of [p.mlp, p.attention]) {
        const logits = p.hm.runWithHooks([CLEAN], { hooks: [[path, (output) => mx.zerosLike(output)]] });
        const expected = python(c.label, `ablate:${path}`);
        const diff = maxAbsDiff(mx.astype(logits, "float32"), expected, path);
        // The ablation must matter, or the comparison proves nothing.
        assert.ok(maxAbsDiff(expected, python(c.label, "logits"), "effect") > 1e-3, `ablating ${path} changes nothing`);
        logits.dispose();
        assert.ok(diff <= CLOSE, `ablating ${path}: max |diff| ${diff}`);
        diffs.push(`${path} ${diff}`);
      }
      t.diagnostic(diffs.join("; "));
    });

    test("zeroing one head at hook_z gives mlx-lm's logits with that head's slice of o_proj's input zeroed", (t) => {
      const p = plans.get(c.label) as Plan;
      const projection = p.outputProjections.get(p.attention) as string;
      const logits = p.hm.runWithHooks([CLEAN], {
        hooks: [
          [
            `${p.attention}.hook_z`,
            (z) => {
              assert.equal(z.shape[1], p.heads, "hook_z is [batch, heads, positions, d_head]");
              const head = mx.reshape(mx.array(Array.from({ length: p.heads }, (_, h) => h === ABLATED_HEAD)), [
                1,
                p.heads,
                1,
                1,
              ]);
              return mx.where(head, mx.zerosLike(z), z);
            },
          ],
        ],
      });
      const expected = python(c.label, `ablate_head:${projection}#${ABLATED_HEAD}`);
      const diff = maxAbsDiff(logits, expected, "logits");
      logits.dispose();
      assert.ok(maxAbsDiff(expected, python(c.label, "logits"), "effect") > 1e-3, "ablating the head changes nothing");
      assert.ok(diff <= CLOSE, `max |diff| ${diff}`);
      t.diagnostic(`max |diff| ${diff}`);
    });

    test("patching a layer's output at some positions gives mlx-lm's logits", (t) => {
      const p = plans.get(c.label) as Plan;
      const { logits: cleanLogits, cache } = p.hm.runWithCache([CLEAN], { names: [p.patchLayer] });
      cleanLogits.dispose();
      const clean = cache.get(p.patchLayer);
      const chosen = mx.reshape(mx.array(CLEAN.map((_, i) => PATCH_POSITIONS.includes(i))), [1, CLEAN.length, 1]);
      const patched = p.hm.runWithHooks([CORRUPTED], {
        hooks: [[p.patchLayer, (output) => mx.where(chosen, clean, output)]],
      });
      const expected = python(c.label, `patch:${p.patchLayer}`);
      const diff = maxAbsDiff(mx.astype(patched, "float32"), expected, "patched logits");
      assert.ok(maxAbsDiff(expected, python(c.label, "corrupted"), "effect") > 1e-3, "the patch changes nothing");
      assert.ok(maxAbsDiff(expected, python(c.label, "logits"), "partial") > 1e-3, "the patch restores everything");
      patched.dispose();
      chosen.dispose();
      cache.dispose();
      assert.ok(diff <= CLOSE, `max |diff| ${diff}`);
      t.diagnostic(`max |diff| ${diff}`);
    });

    test("a pre-hook replacing a layer's input at some positions gives mlx-lm's logits", (t) => {
      const p = plans.get(c.label) as Plan;
      const layer = p.hm.names.layerPaths[1] as string;
      const chosen = mx.reshape(mx.array(CLEAN.map((_, i) => ZEROED_POSITIONS.includes(i))), [1, CLEAN.length, 1]);
      const logits = p.hm.runWithHooks([CLEAN], {
        preHooks: [[layer, (x) => mx.where(chosen, mx.zerosLike(x), x)]],
      });
      const expected = python(c.label, `zero_input:${layer}`);
      const diff = maxAbsDiff(logits, expected, "logits");
      logits.dispose();
      chosen.dispose();
      assert.ok(maxAbsDiff(expected, python(c.label, "logits"), "effect") > 1e-3, "the change changes nothing");
      assert.ok(diff <= CLOSE, `max |diff| ${diff}`);
      t.diagnostic(`max |diff| ${diff}`);
    });

    test("attention patterns equal softmax(q·kᵀ) from mlx-lm's own rotated q and k", (t) => {
      const p = plans.get(c.label) as Plan;
      const patterns = p.hm.getAttentionPatterns([CLEAN]);
      const { logits, cache } = p.hm.runWithCache([CLEAN], { names: ["q", "k"] });
      logits.dispose();
      const notes: string[] = [];
      try {
        for (const layer of p.attentionLayers) {
          const attention = p.hm.names.attentionPaths[layer] as string;
          const diff = maxAbsDiff(patterns.get(layer) as mx.Array, python(c.label, `pattern:${attention}`), attention);
          const used = (oracle.get(c.label) as OracleResult).patterns[attention];
          const tolerance = closeFor(patterns.get(layer) as mx.Array);
          if (diff > tolerance) {
            const score = largestScore(cache.get("q", layer), cache.get("k", layer), used?.scale ?? 1);
            assert.fail(`${attention} pattern: max |diff| ${diff} > ${tolerance} (largest |score| ${score})`);
          }
          notes.push(`L${layer} ${diff} (scale ${used?.scale}, softcap ${used?.softcap}, window ${used?.window})`);
          // hook_q and hook_k are what mlx-lm's rope returned (GPT-2 has no rope).
          if (oracle.get(c.label)?.arrays[`out:${attention}.rope#0`]) {
            for (const [name, call] of [
              ["q", 0],
              ["k", 1],
            ] as const) {
              const d = maxAbsDiff(cache.get(name, layer), python(c.label, `out:${attention}.rope#${call}`), name);
              assert.ok(d <= EXACT, `${attention} hook_${name}: max |diff| ${d}`);
            }
          }
        }
      } finally {
        for (const a of patterns.values()) a.dispose();
        cache.dispose();
      }
      t.diagnostic(notes.join("; "));
    });

    test("pattern @ V with heads merged equals mlx-lm's output-projection input", (t) => {
      const p = plans.get(c.label) as Plan;
      // Caching the pattern writes attention out for the cache only: hook_z of the same run is
      // still the fused kernel's, as mlx-lm's.
      const { logits, cache } = p.hm.runWithCache([CLEAN], { names: ["pattern", "v", "z"] });
      logits.dispose();
      const notes: string[] = [];
      try {
        for (const layer of p.attentionLayers) {
          const attention = p.hm.names.attentionPaths[layer] as string;
          const pattern = cache.get("pattern", layer);
          const values = cache.get("v", layer);
          const [batch, heads, length] = pattern.shape as [number, number, number];
          const merged = mx.tidy(() => {
            const repeated = mx.repeat(values, heads / (values.shape[1] as number), 1);
            const z = mx.matmul(pattern, repeated);
            return mx.reshape(mx.transpose(z, [0, 2, 1, 3]), [batch, length, -1]);
          });
          const expected = python(c.label, `in:${p.outputProjections.get(attention)}#0`);
          const diff = maxAbsDiff(merged, expected, attention);
          // hook_z, heads merged, is exactly what the projection receives.
          const z = cache.get("z", layer);
          const zMerged = mx.reshape(mx.transpose(z, [0, 2, 1, 3]), [batch, length, -1]);
          assert.equal(maxAbsDiff(zMerged, expected, `${attention} z`), 0, `${attention}: hook_z merged`);
          zMerged.dispose();
          // On a GPU each output sums pattern entries (allowed BF16_PATTERN_GPU) times values: that
          // tolerance in units of the largest value. The CPU keeps the patterns' own.
          const largestValue = mx.tidy(() => mx.max(mx.abs(values)).item() as number);
          const scale = mx.runtimeInfo.device === "cpu" ? 1 : Math.max(1, largestValue);
          const tolerance = closeFor(merged) * scale;
          merged.dispose();
          assert.ok(diff <= tolerance, `${attention}: max |diff| ${diff} > ${tolerance} (max |v| ${largestValue})`);
          notes.push(`L${layer} ${diff}`);
        }
      } finally {
        cache.dispose();
      }
      t.diagnostic(notes.join("; "));
    });
  });
}
