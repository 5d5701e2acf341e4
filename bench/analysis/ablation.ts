// The mean-ablation heatmap two ways on one checkpoint: batched (ablation(): the cells that start
// at one position run as one batch over the positions after it, on the prompt's KV cache) against
// the naive loop (one runWithHooks forward pass per cell, test/experiments/naive-loop.ts). Per
// (layer, position) of each layer's output, and per (layer, head) of z. Both grids are checked
// equal before timing; medians of interleaved repeats, and their ratio.
// Usage: npm run bench:ablation -- [CHECKPOINT_DIR] [REPEATS]
import { ablation, HookedModel, mx } from "mlux";
import { activations, maxGridDiff, naiveHeadLoop, naivePositionLoop } from "../../test/experiments/naive-loop.ts";

const [dir = "fixtures/tiny-lm-f16", repeatsArg] = process.argv.slice(2);
const repeats = Number(repeatsArg ?? 5);
// The upstream explorer's default prompt: an induction pattern.
const PROMPT = "X A V P Q R T X A V P Q R";
const hm = await HookedModel.fromPretrained(dir);
const tokens = hm.toTokens(PROMPT)[0] as number[];
const layers = [...Array(hm.layers).keys()];
const heads = hm.model.layout.dims.heads;

const logits0 = hm.forward([tokens]);
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
const report = {
  checkpoint: dir,
  tokens: tokens.length,
  metric: "prob of top token",
  repeats,
  results,
};
console.log(JSON.stringify(report, null, 2));
