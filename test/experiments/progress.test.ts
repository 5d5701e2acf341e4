// The experiments' onProgress: called as the work goes, up to (total, total), and the results the
// same as without it (head detection then runs in chunks of sequences: equal up to the rounding of
// a smaller batch; ablation and patching run the same batches either way: equal).
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ablation, activationPatching, detectHeads, HookedModel } from "mlux";
import { PROGRESS_CHUNK } from "../../src/experiments/head-detectors.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
let hm: HookedModel;
before(async () => {
  hm = await HookedModel.fromPretrained(join(root, ".checkpoints/llama/fp32"));
});

test("detectHeads: a call per chunk of sequences; the scores of one pass", () => {
  const calls: [number, number][] = [];
  const options = { batch: 10, repeatLength: 12, seed: 1 };
  const chunked = detectHeads(hm, { ...options, onProgress: (done, total) => calls.push([done, total]) });
  const whole = detectHeads(hm, options);
  assert.equal(PROGRESS_CHUNK, 4);
  assert.deepEqual(calls, [
    [4, 10],
    [8, 10],
    [10, 10],
  ]);
  for (const kind of ["previousToken", "duplicateToken", "induction"] as const) {
    const a = chunked.scores[kind]?.flat() as number[];
    const b = whole.scores[kind]?.flat() as number[];
    assert.equal(a.length, b.length);
    // float32 patterns from matrix products over batches of 4 and of 10 rows, summed over 25 x 25
    // cells: rounding differences of ~1e-7 each.
    for (const [i, v] of a.entries()) assert.ok(Math.abs(v - (b[i] as number)) < 1e-5, `${kind} ${i}: ${v} vs ${b[i]}`);
  }
});

test("ablation and activationPatching: increasing counts ending at the number of cells; the same values", () => {
  const prompt = [1, 20, 300, 4000, 55, 6];
  const calls: [number, number][] = [];
  const onProgress = (done: number, total: number) => calls.push([done, total]);
  const options = { prompt, site: "z", kind: "zero", batchSize: 3 } as const;
  const reported = ablation(hm, { ...options, onProgress });
  const cells = reported.layers.length * reported.columns.length;
  assert.deepEqual(calls.at(-1), [cells, cells]);
  assert.ok(calls.every(([done, total], i) => total === cells && done > (calls[i - 1]?.[0] ?? 0)));
  assert.deepEqual(reported.values, ablation(hm, options).values);

  calls.length = 0;
  const patching = {
    clean: prompt,
    corrupted: [1, 20, 301, 4000, 55, 6],
    metric: { kind: "kl" },
    site: "resid_pre",
  } as const;
  const patched = activationPatching(hm, { ...patching, onProgress });
  const patchCells = patched.layers.length * patched.columns.length;
  assert.deepEqual(calls.at(-1), [patchCells, patchCells]);
  assert.deepEqual(patched.raw, activationPatching(hm, patching).raw);
});
