// The binding experiment's patching run three ways on one checkpoint, over the same prompt pairs and
// every layer: batched with the prefix shared (each batch's originals run once without their last
// token, then the last token alone per layer), batched over whole prompts, and the naive loop (per
// pair, one forward of the counterfactual and one runWithHooks forward per layer,
// test/experiments/naive-loop.ts). The patched probabilities are checked equal before timing;
// medians of interleaved repeats, and the ratios to the naive loop.
// Usage: npm run bench:binding -- [CHECKPOINT_DIR] [PAIRS] [REPEATS]
import { bindingMechanisms, HookedModel, mx } from "mlux";
import { patchLastToken } from "../../src/experiments/binding/last-token-patching.ts";
import { activations, lastLogits } from "../../test/experiments/naive-loop.ts";

const [dir = "fixtures/entity-binding", pairsArg, repeatsArg] = process.argv.slice(2);
const pairs = Number(pairsArg ?? 64);
const repeats = Number(repeatsArg ?? 3);
const hm = await HookedModel.fromPretrained(dir);
const layers = [...Array(hm.layers).keys()];
const keys = layers.map((l) => `resid_pre.${l}`);

// The prompt pairs the experiment builds (one layer patched here only to get them).
const built = bindingMechanisms(hm, { pairs, layers: [0] }).pairs;
const encode = (text: string) => hm.toTokens(text)[0] as number[];
const idOf = (attribute: string) => hm.tokenizer?.encode(attribute, { addSpecialTokens: false })[0] as number;
const originals = built.map((p) => encode(p.original.text));
const counterfactuals = built.map((p) => encode(p.counterfactual.text));
const candidates = built.map((p) => p.original.facts.map((f) => idOf(f.attribute)));

// [layer][pair][candidate] probabilities, three ways.
const batched = (sharePrefix: boolean) => () =>
  hm
    .withHooks({}, () =>
      patchLastToken(hm, originals, counterfactuals, candidates, "resid_pre", layers, 32, sharePrefix),
    )
    .patched.map((r) => r.candidates);
const naive = () => {
  const grid = layers.map(() => [] as number[][]);
  originals.forEach((original, b) => {
    const source = activations(hm, counterfactuals[b] as number[], keys);
    keys.forEach((key, i) => {
      const last = mx.index(source.get(key) as mx.Array, -1, ":");
      const row = lastLogits(hm, original, [[`${key}@${original.length - 1}`, last]]);
      last.dispose();
      const max = Math.max(...row);
      const total = row.reduce((s, x) => s + Math.exp(x - max), 0);
      grid[i]?.push((candidates[b] as number[]).map((id) => Math.exp((row[id] as number) - max) / total));
    });
    for (const a of source.values()) a.dispose();
  });
  return grid;
};

const maxDiff = (a: number[][][], b: number[][][]) =>
  Math.max(
    ...a.flatMap((layer, i) => layer.flatMap((row, j) => row.map((x, k) => Math.abs(x - (b[i]?.[j]?.[k] as number))))),
  );
const time = (fn: () => unknown) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

const ways = { sharedPrefix: batched(true), wholePrompts: batched(false), naive };
const reference = naive();
const differences = {
  sharedPrefix: maxDiff(ways.sharedPrefix(), reference),
  wholePrompts: maxDiff(ways.wholePrompts(), reference),
};
const times: Record<keyof typeof ways, number[]> = { sharedPrefix: [], wholePrompts: [], naive: [] };
for (let i = 0; i < repeats; i++)
  for (const [name, fn] of Object.entries(ways)) times[name as keyof typeof ways].push(time(fn));
const ms = (name: keyof typeof ways) => Number(median(times[name]).toFixed(1));
console.log(
  JSON.stringify(
    {
      checkpoint: dir,
      pairs,
      layers: layers.length,
      repeats,
      medianMs: { sharedPrefix: ms("sharedPrefix"), wholePrompts: ms("wholePrompts"), naive: ms("naive") },
      naiveOver: {
        sharedPrefix: Number((ms("naive") / ms("sharedPrefix")).toFixed(2)),
        wholePrompts: Number((ms("naive") / ms("wholePrompts")).toFixed(2)),
      },
      maxDifferenceFromNaive: differences,
    },
    null,
    2,
  ),
);
