// The cost of Module.call's hook seam on an unhooked model: building (not evaluating) the graph of
// a one-token forward pass, where per-call overhead is largest next to the math; and
// HookedModel.forward on 64 tokens with evaluation. The fastest of 9 rounds (on a shared machine
// the minimum is the steadiest estimate) and the median.
// Usage: npm run bench:call-overhead [-- DIR]
import { HookedModel, mx } from "mlux";

const dir = process.argv[2] ?? "fixtures/tiny-lm-f16";
const hm = await HookedModel.fromPretrained(dir);
const one = mx.keep(mx.array([[1]], "int32"));
const prompt = Array.from({ length: 64 }, (_, i) => (i * 7) % 100);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(repeats: number, fn: () => void): { min: number; median: number } {
  const rounds: number[] = [];
  for (let r = 0; r < 9; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / repeats);
  }
  return { min: Math.min(...rounds), median: median(rounds) };
}

time(200, () => mx.tidy(() => void hm.model.call(one))); // warm-up
const graph = time(500, () => mx.tidy(() => void hm.model.call(one)));
const forward = time(10, () => {
  const logits = hm.forward([prompt]);
  mx.eval(logits);
  logits.dispose();
});
const f = (us: number) => us.toFixed(1);
console.log(
  `${dir}: graph of one-token forward ${f(graph.min)} µs (median ${f(graph.median)}); ` +
    `forward of 64 tokens ${f(forward.min / 1e3)} ms (median ${f(forward.median / 1e3)})`,
);
