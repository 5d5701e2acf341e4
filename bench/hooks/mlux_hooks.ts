// mlux's side of the hooks benchmark: a plain forward pass against runWithCache of every layer's
// residual output (resid_post), same tokens; the cache's bytes against what was asked for and
// against MLX's active memory. Prints one JSON line. Run by bench/hooks/run.ts.
import { HookedModel, mx } from "mlux";

const [dir, lengthArg, repeatsArg] = process.argv.slice(2);
if (!dir) throw new Error("usage: mlux_hooks.ts CHECKPOINT_DIR [TOKENS] [REPEATS]");
const length = Number(lengthArg ?? 256);
const repeats = Number(repeatsArg ?? 7);
const hm = await HookedModel.fromPretrained(dir);
const tokens = [Array.from({ length }, (_, i) => ((i * 7919) % 4000) + 10)];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const plainOnce = () => {
  const start = performance.now();
  mx.tidy(() => mx.eval(hm.forward(tokens)));
  return performance.now() - start;
};
const cachedOnce = () => {
  const start = performance.now();
  const { logits, cache } = hm.runWithCache(tokens, { names: "resid_post" });
  const elapsed = performance.now() - start;
  logits.dispose();
  cache.dispose();
  return elapsed;
};
plainOnce();
cachedOnce(); // warm-up
// Interleaved, so drifts in machine load hit both alike.
const plain: number[] = [];
const cached: number[] = [];
for (let i = 0; i < repeats; i++) {
  plain.push(plainOnce());
  cached.push(cachedOnce());
}

// Memory: what the cache holds once the logits are gone, against the bytes of the activations asked for.
mx.memory.clearCache();
const baseline = mx.memory.activeMemory();
const { logits, cache } = hm.runWithCache(tokens, { names: "resid_post" });
logits.dispose();
const held = mx.memory.activeMemory() - baseline;
const first = cache.get("resid_post", 0);
const asked = hm.layers * first.size * (first.nbytes / first.size);
console.log(
  JSON.stringify({
    peer: "mlux",
    plainMs: median(plain),
    cachedMs: median(cached),
    cacheBytes: cache.nbytes,
    askedBytes: asked,
    heldBytes: held,
  }),
);
cache.dispose();
