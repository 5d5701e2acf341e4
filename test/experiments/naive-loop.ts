// The obvious way to patch and ablate, written independently of src/experiments: one full forward
// pass per cell through HookedModel.runWithHooks, the replacement put in with mx.at().set, and the
// metric computed in float64 in plain JavaScript. The tests hold the batched experiments to it and
// the ablation benchmark times it.
import { type HookedModel, mx } from "mlux";

export type NaiveMetric =
  | { kind: "logitDiff"; answer: number; wrong: number }
  | { kind: "prob"; token: number }
  | { kind: "kl" };

/** log softmax of one row of logits, in float64. */
function logSoftmax(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return row.map((x) => x - lse);
}

export function naiveMetric(metric: NaiveMetric, row: readonly number[], reference: readonly number[]): number {
  if (metric.kind === "logitDiff") return (row[metric.answer] as number) - (row[metric.wrong] as number);
  const logp = logSoftmax(row);
  if (metric.kind === "prob") return Math.exp(logp[metric.token] as number);
  const ref = logSoftmax(reference);
  return ref.reduce((s, lr, i) => s + Math.exp(lr) * (lr - (logp[i] as number)), 0);
}

/** The last position's logits of one prompt, with `hooks`, as numbers. */
export function lastLogits(
  hm: HookedModel,
  tokens: readonly number[],
  hooks: [string, mx.Array][] = [],
  head?: number,
): number[] {
  return mx.tidy(() => {
    const logits = hm.runWithHooks([tokens as number[]], {
      hooks: hooks.map(([key, replacement]) => [
        key.split("@")[0] as string,
        (out: mx.Array) => {
          const position = Number(key.split("@")[1]);
          const value = mx.astype(replacement, out.dtype);
          if (head !== undefined) return mx.at(out, 0, head, ":", ":").set(value); // z [1, H, L, D], every position
          return mx.at(out, 0, position, ":").set(value); // [1, L, d]
        },
      ]),
    });
    return mx.index(logits, 0, -1, ":").tolist() as number[];
  });
}

/** Every site activation of one prompt: key -> [L, d] or z [H, L, D]. */
export function activations(
  hm: HookedModel,
  tokens: readonly number[],
  keys: readonly string[],
): Map<string, mx.Array> {
  const { logits, cache } = hm.runWithCache([tokens as number[]], { names: [...keys] });
  logits.dispose();
  const out = new Map(keys.map((k) => [k, mx.keep(mx.index(cache.get(k), 0))]));
  cache.dispose();
  return out;
}

/**
 * One forward per (layer, position): `target` with the site at that position replaced by
 * `valueAt(key, position)` ([d]), [layer][position] of the metric.
 */
export function naivePositionLoop(
  hm: HookedModel,
  target: readonly number[],
  keys: readonly string[],
  positions: readonly number[],
  valueAt: (key: string, position: number) => mx.Array,
  metric: NaiveMetric,
  reference: readonly number[],
): number[][] {
  return keys.map((key) =>
    positions.map((p) => naiveMetric(metric, lastLogits(hm, target, [[`${key}@${p}`, valueAt(key, p)]]), reference)),
  );
}

/** One forward per (layer, head): head h of z replaced at every position by `valueAt(key, h)` ([L, D]). */
export function naiveHeadLoop(
  hm: HookedModel,
  target: readonly number[],
  keys: readonly string[],
  heads: number,
  valueAt: (key: string, head: number) => mx.Array,
  metric: NaiveMetric,
  reference: readonly number[],
): number[][] {
  return keys.map((key) =>
    Array.from({ length: heads }, (_, h) =>
      naiveMetric(metric, lastLogits(hm, target, [[`${key}@0`, valueAt(key, h)]], h), reference),
    ),
  );
}

/** The largest |a - b| over two grids of one shape. */
export function maxGridDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  if (a.length !== b.length || a.some((row, i) => row.length !== (b[i] as number[]).length)) {
    throw new Error("grids differ in shape");
  }
  return Math.max(...a.flatMap((row, i) => row.map((x, j) => Math.abs(x - ((b[i] as number[])[j] as number)))));
}
