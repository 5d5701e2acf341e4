// The logit lens grid two ways on one checkpoint: batched (logitLens: one float32 unembedding per
// probe over all layers and positions, one top-k over all its cells) against the per-cell loop (one
// unembedding and one top-k per layer, position and probe). Both start from one cached forward pass;
// the grids are checked equal before timing. Medians of interleaved repeats, and their ratio; then
// Python mlx-lm's per-cell loop on the same checkpoint (lens_mlx_lm.py).
// Usage: npm run bench:lens -- [CHECKPOINT_DIR] [TOKENS] [REPEATS]
import { HookedModel, LENS_PROBES, type LensToken, logitLens, mx, topTokens, unembed } from "mlux";
import { lensRows } from "../../src/experiments/logit-lens.ts";
import { runPython } from "../peers.ts";

const [dir = "fixtures/tiny-lm-f16", lengthArg, repeatsArg] = process.argv.slice(2);
const length = Number(lengthArg ?? 32);
const repeats = Number(repeatsArg ?? 5);
const K = 5;
const hm = await HookedModel.fromPretrained(dir);
const ids = Array.from({ length }, (_, i) => ((i * 7919) % 4000) + 10);

// The obvious loop: every cell unembedded and decoded on its own.
function perCell(): LensToken[][][][] {
  const keys = LENS_PROBES.flatMap((p) => lensRows(hm, p).map(([, key]) => key));
  const { logits, cache } = hm.runWithCache([ids], { names: keys });
  logits.dispose();
  try {
    return LENS_PROBES.map((probe) =>
      lensRows(hm, probe).map(([, key]) =>
        ids.map((_, p) => {
          const cellLogits = mx.tidy(() => unembed(hm.readout, mx.index(cache.get(key), 0, p)));
          const top = topTokens(cellLogits, K)[0] as LensToken[];
          cellLogits.dispose();
          return top;
        }),
      ),
    );
  } finally {
    cache.dispose();
  }
}

const batched = () => logitLens(hm, [ids], { k: K }).grids.map((g) => g.cells);

// Same numbers: ids equal, logits equal up to float32 rounding of products over 1 or many rows.
const a = batched();
const b = perCell();
let worst = 0;
for (const [g, grid] of a.entries()) {
  for (const [r, row] of grid.entries()) {
    for (const [p, cell] of row.entries()) {
      for (const [j, t] of cell.entries()) {
        const other = b[g]?.[r]?.[p]?.[j];
        if (other?.id !== t.id) throw new Error(`grids differ at probe ${g} row ${r} position ${p} rank ${j}`);
        worst = Math.max(worst, Math.abs(other.logit - t.logit));
      }
    }
  }
}

const time = (fn: () => unknown) => {
  const start = performance.now();
  fn();
  return performance.now() - start;
};
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
const fast: number[] = [];
const slow: number[] = [];
for (let i = 0; i < repeats; i++) {
  fast.push(time(batched));
  slow.push(time(perCell));
}
const cells = a.reduce((n, grid) => n + grid.length * length, 0);
// Python mlx-lm's per-cell loop on the same checkpoint: as mlx-lm computes by default (the
// checkpoint's dtype, the wheel's BLAS as installed) and in float32 on our GEMM.
const python = (["native", "float32"] as const).map((dtype) => {
  const r = runPython("bench/analysis/lens_mlx_lm.py", [dir, dtype, String(length), String(repeats), String(K)], {
    gemmShim: dtype === "float32",
  });
  return { dtype, cells: r.cells, perCellMs: Number((r.perCellMs as number).toFixed(1)) };
});
console.log(
  JSON.stringify({
    checkpoint: dir,
    tokens: length,
    cells,
    k: K,
    batchedMs: Number(median(fast).toFixed(1)),
    perCellMs: Number(median(slow).toFixed(1)),
    ratio: Number((median(slow) / median(fast)).toFixed(2)),
    maxLogitDifference: worst,
    repeats,
    pythonPerCell: python.map((p) => ({ ...p, ratioToBatched: Number((p.perCellMs / median(fast)).toFixed(2)) })),
  }),
);
