// ActivationCache's residual-stream utilities on every architecture: the decomposition sums back to
// the stream, heads sum to the attention output, the final norm applied to the components sums to
// the model's ln_final, and logit attributions sum to the model's logits.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ActivationCache, HookedModel, mx } from "mlux";
import { assertNear, checkpoint, manifest, PROMPTS } from "./cache-helpers.ts";

// Sums of float32 activations in another order than the model's: rounding only (see assertNear).
const FP32_SUMS = 1e-5;
// These are exactness checks of the decompositions, so float32 products must be float32
// (float32-products.ts): on an H100 with TF32, heads summed to 3.6e-3 to 3.3e-2 off the attention
// output (above 1e-5 x its scale) on all five fp32 checkpoints tried, and all passed with it off.
// A logit is a dot product over d_model of the summed, normalized components: one more reduction.
const FP32_LOGITS = 1e-4;
// Token ids per prompt and position whose logits are attributed.
const TARGETS = [
  [3, 4, 5, 6, 7, 8],
  [9, 10, 11, 12, 13, 14],
];

/** Everything the checks read: the default standard names, the per-head results and each attention module's output. */
function runAll(hooked: HookedModel, tokens: number[][] = PROMPTS): { logits: mx.Array; cache: ActivationCache } {
  const attention = hooked.names.attentionPaths.flatMap((p) => (p === undefined ? [] : [p]));
  const standard = hooked.standardKeys().filter((k) => !/^(q|k|v|scores|pattern|z)\./.test(k));
  return hooked.runWithCache(tokens, { names: [...standard, ...attention] });
}

// The unembedding rows of `ids`, read from the model's own modules (not through the cache).
function unembeddingRows(hooked: HookedModel, ids: mx.Array): mx.Array {
  const paths = new Set(hooked.paths());
  const path = ["lm_head", "model.embed_out", "model.embed_tokens", "model.wte", "model.embed_in"].find((p) =>
    paths.has(p),
  ) as string;
  const module = hooked.model.getModule(path) as unknown as {
    weight: mx.Array;
    denseWeight?: (dtype: mx.DType) => mx.Array;
    forward: (x: mx.Array) => mx.Array;
  };
  if (module.weight.dtype !== "uint32") return mx.take(module.weight, ids, 0);
  // Quantized: a linear layer dequantizes its whole matrix, an embedding the rows asked for.
  return module.denseWeight ? mx.take(module.denseWeight("float32"), ids, 0) : module.forward(ids);
}

function finalNormBias(hooked: HookedModel): mx.Array | undefined {
  const path = hooked.names.target("ln_final")?.path as string;
  return (hooked.model.getModule(path) as unknown as { bias?: mx.Array }).bias;
}

// The logit of each target token minus what the final norm's bias adds to it (no component's), before
// Gemma 2's soft-capping (inverted here) and after Granite's scaling (which the attributions divide by).
function attributableLogits(hooked: HookedModel, logits: mx.Array, targets: number[][]): mx.Array {
  const ids = mx.array(targets, "int32");
  let out = mx.squeeze(mx.takeAlongAxis(logits, mx.expandDims(ids, -1), -1), -1);
  const { logitSoftcap: cap, logitsScaling } = hooked.model.layout;
  if (cap !== undefined) out = mx.multiply(mx.arctanh(mx.divide(out, cap)), cap);
  const bias = finalNormBias(hooked);
  if (bias !== undefined) {
    let term = mx.sum(mx.multiply(bias, unembeddingRows(hooked, ids)), { axis: -1 });
    if (logitsScaling !== undefined) term = mx.divide(term, logitsScaling);
    out = mx.subtract(out, term);
  }
  return out;
}

// Each attention module's output projection, for its bias.
function outputBias(hooked: HookedModel, attentionPath: string): mx.Array | undefined {
  const attention = hooked.model.getModule(attentionPath) as unknown as Record<string, { bias?: mx.Array }>;
  const projection = ["o_proj", "c_proj", "dense", "out_proj"].map((n) => attention[n]).find(Boolean);
  assert.ok(projection, `no output projection under ${attentionPath}`);
  return projection.bias;
}

const sum0 = (a: mx.Array) => mx.sum(a, { axis: 0 });

describe("every architecture (fp32)", () => {
  for (const [name, entry] of Object.entries(manifest.checkpoints)) {
    if (entry.variants.fp32 === undefined) continue;
    test(name, async () => {
      const hooked = await HookedModel.fromPretrained(checkpoint(name, "fp32"));
      const { logits, cache } = runAll(hooked);
      const n = hooked.layers;
      mx.tidy(() => {
        // The whole stream as what each part added: labels in model order, each component exactly the cached one.
        const [parts, labels] = cache.decomposeResid(undefined, { returnLabels: true });
        const embeds = hooked.names.target("pos_embed") ? ["embed", "pos_embed"] : ["embed"];
        const branches = [...Array(n).keys()].flatMap((l) => [`${l}_attn_out`, `${l}_mlp_out`]);
        assert.deepEqual(labels, [...embeds, ...branches]);
        const keyOf = (label: string) => label.replace(/^(\d+)_(.*)$/, "$2.$1");
        labels.forEach((label, i) => {
          if (label === "pos_embed") return; // broadcast over the batch
          assert.ok(mx.arrayEqual(mx.index(parts, i), cache.get(keyOf(label))).item(), `${label} is the cached one`);
        });
        assertNear(sum0(parts), cache.get("resid_post", n - 1), FP32_SUMS, "all parts sum to the final stream");
        for (let l = 0; l < n; l++) {
          assertNear(
            sum0(cache.decomposeResid(l)),
            cache.get("resid_pre", l),
            FP32_SUMS,
            `parts sum to resid_pre.${l}`,
          );
          if (hooked.names.target(`resid_mid.${l}`) === undefined) continue;
          const mlpInput = cache.decomposeResid(l, { mlpInput: true });
          assertNear(sum0(mlpInput), cache.get("resid_mid", l), FP32_SUMS, `parts sum to resid_mid.${l}`);
        }
        const attn = cache.decomposeResid(undefined, { mode: "attn", inclEmbeds: false });
        const mlp = cache.decomposeResid(undefined, { mode: "mlp", inclEmbeds: false });
        assert.equal(attn.shape[0], n);
        assert.equal(mlp.shape[0], n);

        // Each attention layer's heads sum to its module's output minus the projection's bias.
        const [heads, headLabels] = cache.stackHeadResults(undefined, { returnLabels: true });
        let offset = 0;
        hooked.names.attentionPaths.forEach((path, l) => {
          if (path === undefined) return;
          const count = cache.get("result", l).shape[2] as number;
          assert.deepEqual(
            headLabels.slice(offset, offset + count),
            [...Array(count).keys()].map((h) => `L${l}H${h}`),
          );
          const summed = sum0(mx.index(heads, { start: offset, stop: offset + count }));
          const bias = outputBias(hooked, path);
          const expected = bias === undefined ? cache.get(path) : mx.subtract(cache.get(path), bias);
          assertNear(summed, expected, FP32_SUMS, `layer ${l} heads sum to the attention output minus bias`);
          offset += count;
        });
        assert.equal(heads.shape[0], offset);

        // The final norm on each component, summed with the norm's bias: the model's ln_final.
        const normed = cache.applyLnToStack(parts);
        const bias = finalNormBias(hooked);
        const normedSum = bias === undefined ? sum0(normed) : mx.add(sum0(normed), bias);
        assertNear(normedSum, cache.get("ln_final"), FP32_SUMS, "normalized parts sum to ln_final");

        // Attributions over the full decomposition sum to the (attributable) logits.
        const attributions = cache.logitAttrs(parts, TARGETS);
        assert.deepEqual(attributions.shape, parts.shape.slice(0, -1));
        assertNear(
          sum0(attributions),
          attributableLogits(hooked, logits, TARGETS),
          FP32_LOGITS,
          "attributions sum to logits",
        );

        // The accumulated stream: resid_pre of each layer, then the final stream; with applyLn
        // over the whole model, the final entry is the model's ln_final bit for bit.
        const [streams, streamLabels] = cache.accumulatedResid(undefined, { returnLabels: true });
        assert.deepEqual(streamLabels, [...[...Array(n).keys()].map((l) => `${l}_pre`), "final_post"]);
        for (let l = 0; l < n; l++) {
          assert.ok(mx.arrayEqual(mx.index(streams, l), cache.get("resid_pre", l)).item(), `${l}_pre`);
        }
        const lens = cache.accumulatedResid(undefined, { applyLn: true });
        assert.ok(mx.arrayEqual(mx.index(lens, n), cache.get("ln_final")).item(), "final_post through the final norm");
      });
      logits.dispose();
      cache.dispose();
      hooked.model.dispose();
    });
  }
});

describe("quantized unembeddings (q4, run in float32)", () => {
  // llama's q4 head is its tied QuantizedEmbedding, gpt_neox's a QuantizedLinear (embed_out).
  for (const name of ["llama", "gpt_neox"]) {
    test(name, async () => {
      const hooked = await HookedModel.fromPretrained(checkpoint(name, "q4"), { dtype: "native" });
      hooked.model.setDtype("float32");
      const { logits, cache } = runAll(hooked);
      mx.tidy(() => {
        const parts = cache.decomposeResid();
        const attributions = cache.logitAttrs(parts, TARGETS);
        assertNear(
          sum0(attributions),
          attributableLogits(hooked, logits, TARGETS),
          FP32_LOGITS,
          "attributions sum to logits",
        );
      });
      logits.dispose();
      cache.dispose();
      hooked.model.dispose();
    });
  }
});
