// The mean-ablation heatmap two ways on one checkpoint: batched (ablation(): each batch of cells
// starts at its layer's block from the unedited run's stream, over the positions from its first
// ablated one on the prompt's KV cache) against the naive loop (one runWithHooks forward pass per
// cell, test/experiments/naive-loop.ts). Per (layer, position) of each layer's output, and per
// (layer, head) of z. Both grids are checked equal before timing; medians of interleaved repeats,
// and their ratio. Then Python mlx-lm's naive loop on the same checkpoint (ablation_mlx_lm.py).
// The model loads with the default dtype ("auto": float32 on the CPU).
// Usage: npm run bench:ablation -- [CHECKPOINT_DIR] [REPEATS]
import { ablation, HookedModel, mx } from "mlux";
import { activations, maxGridDiff, naiveHeadLoop, naivePositionLoop } from "../../test/experiments/naive-loop.ts";
import { runPython } from "../peers.ts";

const [dir = "fixtures/tiny-lm-f16", repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 5);
// The upstream explorer's default prompt: an induction pattern.
const PROMPT = "X A V P Q R T X A V P Q R";
const hm = await HookedModel.fromPretrained(dir);
const tokens = hm.toTokens(PROMPT)[0] as number[];
const layers = [...Array(hm.layers).keys()];
const heads = hm.model.layout.dims.heads;

const logits0 = hm.forward([tokens]);
const logitsDtype = logits0.dtype;
const top = mx.argmax(mx.index(logits0, 0, -1, ":")).item() as number;
logits0.dispose();
const metric = { kind: "prob", token: top } as const;

// The mean of each layer's output (or z) over the prompt's positions, BOS left out as ablation() does.
const from = tokens[0] === hm.tokenizer?.bosTokenId ? 1 : 0;
function means(site: "resid_post" | "z"): Map<string, mx.Array> {
  const keys = layers.map((l) => `${site}.${l}`);
  const acts = activations(hm, tokens, keys);
  const out = new Map(
    keys.map((k) => {
      // In float32, as ablation() takes the mean (cast to the model's dtype where it goes in).
      const a = mx.astype(acts.get(k) as mx.Array, "float32");
      const mean =
        site === "z"
          ? mx.mean(mx.index(a, ":", `${from}:`, ":"), { axis: 1 })
          : mx.mean(mx.index(a, `${from}:`, ":"), { axis: 0, keepdims: true });
      return [k, mx.keep(mean)];
    }),
  );
  for (const a of acts.values()) a.dispose();
  return out;
}

const positionMeans = means("resid_post");
const headMeans = means("z");
const positions = [...tokens.keys()];
const naivePositions = () =>
  naivePositionLoop(
    hm,
    tokens,
    layers.map((l) => `resid_post.${l}`),
    positions,
    (k) => positionMeans.get(k) as mx.Array,
    metric,
    [],
  );
const naiveHeads = () =>
  naiveHeadLoop(
    hm,
    tokens,
    layers.map((l) => `z.${l}`),
    heads,
    (k, h) =>
      mx.broadcastTo(mx.index(headMeans.get(k) as mx.Array, `${h}:${h + 1}`, ":"), [
        tokens.length,
        hm.model.layout.dims.headDim,
      ]),
    metric,
    [],
  );
const batchedPositions = () => ablation(hm, { prompt: [tokens], site: "resid_post", kind: "mean", metric }).values;
const batchedHeads = () => ablation(hm, { prompt: [tokens], site: "z", kind: "mean", metric }).values;

const time = (fn: () => unknown) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

function compare(name: string, batched: () => number[][], naive: () => number[][], cells: number) {
  const difference = maxGridDiff(batched(), naive());
  const fast: number[] = [];
  const slow: number[] = [];
  for (let i = 0; i < repeats; i++) {
    fast.push(time(batched));
    slow.push(time(naive));
  }
  return {
    grid: name,
    cells,
    batchedMs: Number(median(fast).toFixed(1)),
    naiveMs: Number(median(slow).toFixed(1)),
    ratio: Number((median(slow) / median(fast)).toFixed(2)),
    maxDifference: difference,
  };
}

const results = [
  compare("layer x position (resid_post)", batchedPositions, naivePositions, layers.length * tokens.length),
  compare("layer x head (z)", batchedHeads, naiveHeads, layers.length * heads),
];
// Python mlx-lm's naive loop on the same checkpoint: as mlx-lm computes by default (the checkpoint's
// dtype, the wheel's BLAS as installed) and in float32 on our GEMM (what mlux's "auto" computes).
const python = (dtype: "native" | "float32") =>
  runPython(
    "bench/analysis/ablation_mlx_lm.py",
    [dir, dtype, String(repeats), JSON.stringify(tokens), String(top), String(from)],
    { gemmShim: dtype === "float32" },
  ) as unknown as { positionsMs: number; headsMs: number; positions: number[][]; heads: number[][] };
const pythonRuns = (["native", "float32"] as const).map((dtype) => {
  const r = python(dtype);
  return {
    dtype,
    positionsMs: Number(r.positionsMs.toFixed(1)),
    headsMs: Number(r.headsMs.toFixed(1)),
    ratioToBatchedPositions: Number((r.positionsMs / (results[0]?.batchedMs as number)).toFixed(2)),
    ratioToBatchedHeads: Number((r.headsMs / (results[1]?.batchedMs as number)).toFixed(2)),
    maxDifferencePositions: maxGridDiff(r.positions, batchedPositions()),
    maxDifferenceHeads: maxGridDiff(r.heads, batchedHeads()),
  };
});
const report = {
  checkpoint: dir,
  computeDtype: logitsDtype,
  tokens: tokens.length,
  metric: "prob of top token",
  repeats,
  results,
  pythonNaiveLoop: pythonRuns,
};
console.log(JSON.stringify(report, null, 2));
