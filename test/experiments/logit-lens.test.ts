// The batched logit lens against a naive per-cell computation (each cell through the model's own
// final norm and head modules, then a full sort) and, at the last layer, against the model's own
// logits; on llama-like, gemma2 (soft-cap, scaled embeddings), gpt2 (LayerNorm, tied wte, learned
// positions), lfm2 (convolution layers) and 4-bit checkpoints.
import "../float32-products.ts";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HookedModel, mx } from "mlux";
import { unembed } from "../../src/analysis/unembed.ts";
import { LENS_PROBES, lensRows, logitLens } from "../../src/experiments/logit-lens.ts";
import { checkpoint } from "../hooks/cache-helpers.ts";
import { promptIds } from "../hooks/checkpoints.ts";

const K = 3;
// float32 checkpoints: the per-cell modules and the batched float32 unembedding compute the same
// products (one row or many): rounding only, relative to the largest logit.
const FP32 = 1e-5;
// The 4-bit checkpoints compute in bfloat16 (see test/analysis/readout.test.ts): the model's own
// logits are bfloat16 roundings of products of a bfloat16-rounded norm output.
const BF16 = 3e-2;

interface Head {
  forward?: (x: mx.Array) => mx.Array;
  asLinear?: (x: mx.Array) => mx.Array;
}

// One cell the slow way: the final norm module, the head module (the tied embedding as a linear
// map), the layout's soft-cap and scaling, then every logit sorted in JavaScript.
function naiveCell(hm: HookedModel, x: mx.Array, k: number): { id: number; logit: number }[] {
  const { layout } = hm.model;
  const logits = mx.tidy(() => {
    const norm = hm.model.getModule(layout.finalNorm) as unknown as { call(x: mx.Array): mx.Array };
    const head = hm.model.getModule(layout.unembedding) as unknown as Head;
    const normalized = norm.call(x);
    let out =
      layout.unembedding === layout.tokenEmbedding
        ? (head.asLinear as (x: mx.Array) => mx.Array).call(head, normalized)
        : (head.forward as (x: mx.Array) => mx.Array).call(head, normalized);
    if (layout.logitSoftcap !== undefined)
      out = mx.multiply(mx.tanh(mx.divide(out, layout.logitSoftcap)), layout.logitSoftcap);
    if (layout.logitsScaling !== undefined) out = mx.divide(out, layout.logitsScaling);
    return out;
  });
  return sortedTop(logits.tolist() as number[], k);
}

function sortedTop(values: number[], k: number): { id: number; logit: number }[] {
  return values
    .map((logit, id) => ({ id, logit }))
    .sort((a, b) => b.logit - a.logit || a.id - b.id)
    .slice(0, k);
}

const CASES: [string, string][] = [
  ["llama", "fp32"],
  ["gemma2", "fp32"],
  ["gpt2", "fp32"],
  ["lfm2", "fp32"],
  ["granite", "fp32"],
  ["llama", "q4"],
  ["gemma2", "q4"],
];

describe("logit lens", () => {
  for (const [name, variant] of CASES) {
    test(`${name}/${variant}: every cell equals the per-cell computation; the last layer is the model's prediction`, async () => {
      const hm = await HookedModel.fromPretrained(checkpoint(name, variant), { dtype: "native" });
      const ids = promptIds(11, 7);
      const lens = logitLens(hm, ids, { k: K });
      const keys = LENS_PROBES.flatMap((p) => lensRows(hm, p).map(([, key]) => key));
      const { logits, cache } = hm.runWithCache([ids], { names: keys });
      const scale = Math.max(1, mx.max(mx.abs(logits)).item() as number);
      for (const probe of LENS_PROBES) {
        const grid = lens.grid(probe);
        const rows = lensRows(hm, probe);
        assert.deepEqual(
          grid.rows,
          rows.map(([label]) => label),
        );
        assert.equal(grid.cells.length, rows.length);
        for (const [r, [label, key]] of rows.entries()) {
          for (let p = 0; p < ids.length; p++) {
            const x = mx.index(cache.get(key), 0, p);
            const cell = grid.cells[r]?.[p] ?? [];
            // float32: the model's own modules per cell; bfloat16 models compute their modules in
            // bfloat16, so there the cell is checked against the float32 unembedding of that one vector.
            const expected =
              variant === "fp32" ? naiveCell(hm, x, K) : sortedTop(unembed(hm.readout, x).tolist() as number[], K);
            const where = `${name}/${variant} ${probe} row ${label} position ${p}`;
            assert.deepEqual(
              cell.map((t) => t.id),
              expected.map((t) => t.id),
              where,
            );
            for (const [j, t] of cell.entries()) {
              assert.ok(Math.abs(t.logit - (expected[j]?.logit as number)) <= FP32 * scale, `${where}: logit`);
              assert.ok(t.prob > 0 && t.prob <= 1 && (j === 0 || t.prob <= (cell[j - 1]?.prob as number)), where);
            }
          }
        }
      }
      // The last resid row is the final stream through the final norm: the model's logits.
      const final = lens.grid("resid").cells.at(-1) ?? [];
      const modelRows = mx.index(logits, 0).tolist() as number[][];
      for (let p = 0; p < ids.length; p++) {
        const expected = sortedTop(modelRows[p] as number[], K);
        const cell = final[p] ?? [];
        if (variant === "fp32")
          assert.deepEqual(
            cell.map((t) => t.id),
            expected.map((t) => t.id),
            `position ${p}`,
          );
        for (const t of cell) {
          const modelLogit = modelRows[p]?.[t.id] as number;
          const tol = (variant === "fp32" ? FP32 : BF16) * scale;
          assert.ok(
            Math.abs(t.logit - modelLogit) <= tol,
            `${name}/${variant} position ${p} token ${t.id}: lens ${t.logit}, model ${modelLogit}`,
          );
        }
      }
      cache.dispose();
      hm.model.dispose();
    });
  }

  test("results carry token texts and serialize; bad options are errors", async () => {
    const hm = await HookedModel.fromPretrained(checkpoint("gpt2", "fp32"));
    const lens = logitLens(hm, promptIds(5, 4), { probes: ["resid"], k: 2 });
    const json = JSON.parse(JSON.stringify(lens));
    assert.equal(json.grids.length, 1);
    assert.equal(json.grids[0].cells[0].length, 4);
    if (hm.tokenizer !== undefined) assert.equal(typeof json.grids[0].cells[0][0][0].token, "string");
    assert.match(lens.toString(), /^logit lens: resid\n/);
    assert.throws(() => lens.grid("mlp"), /without the "mlp" probe/);
    assert.throws(
      () => logitLens(hm, [1, 2], { probes: ["resid_post" as "resid"] }),
      /probes must be some of resid, attn, mlp/,
    );
    assert.throws(() => logitLens(hm, [1, 2], { topK: 3 } as object), /unknown option "topK"/);
    assert.throws(
      () =>
        logitLens(hm, [
          [1, 2],
          [3, 4],
        ]),
      /one prompt, got a batch of 2/,
    );
    hm.model.dispose();
  });
});
