import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { mx } from "mlux";
import { assertClose, closeOracle, expectSameAsPython, oracle, randomArray, randomInts } from "../oracle/oracle.ts";

after(closeOracle);

// fp32 (and fp64) products run through OpenBLAS here and through the reference BLAS in the Python
// oracle: the same sums in another order, so results agree to float rounding only. With inputs in
// [-1, 1] and at most a few hundred terms, 1e-5 relative plus 1e-5 absolute covers that rounding
// with margin; a wrong index or a missing term is off by far more.
const BLAS = { rtol: 1e-5, atol: 1e-5 };
// float16 / bfloat16 products use MLX's own kernels in both processes: the same code on the same
// inputs gives the same bits.
const EXACT = { rtol: 0, atol: 0 };
// Factorizations are the same reference LAPACK in both processes (the addon routes only libmlx's
// cblas GEMMs to OpenBLAS, not LAPACK's internal BLAS), so they agree bit for bit. pinv, solve,
// solveTriangular and choleskyInv are built by MLX from a factorization and a matmul: BLAS.
const LAPACK = EXACT;

const f32 = (shape: number[], seed: number) => randomArray(shape, seed);

describe("matmul matches Python MLX", () => {
  const cases: [number[], number[]][] = [
    [
      [2, 3],
      [3, 4],
    ],
    [
      [2, 5, 7],
      [2, 7, 3],
    ],
    [
      [2, 1, 3, 4],
      [5, 4, 2],
    ],
    [[4], [4, 3]],
    [[2, 4], [4]],
    [[6], [6]],
    [[3, 2, 4], [4]],
    [
      [1, 64],
      [64, 96],
    ],
  ];
  for (const [sa, sb] of cases) {
    test(`[${sa}] @ [${sb}] in float32`, async () => {
      const a = f32(sa, 1);
      const b = f32(sb, 2);
      await expectSameAsPython(mx.matmul(a, b), "mx.matmul(a, b)", { a, b }, BLAS);
    });
  }
  for (const dtype of ["float16", "bfloat16"] as const) {
    test(`batched broadcasting matmul in ${dtype}`, async () => {
      const a = randomArray([2, 1, 5, 16], 3, { dtype });
      const b = randomArray([3, 16, 4], 4, { dtype });
      await expectSameAsPython(mx.matmul(a, b), "mx.matmul(a, b)", { a, b }, EXACT);
    });
  }
  test("float64 and mixed float16 @ float32 promote as in Python", async () => {
    const a = randomArray([3, 4], 5, { dtype: "float64" });
    const b = randomArray([4, 2], 6, { dtype: "float64" });
    // The oracle reads float64 inputs as float32 (as mx.array does with NumPy float64): cast back.
    await expectSameAsPython(mx.matmul(a, b), "mx.matmul(a.astype(mx.float64), b.astype(mx.float64))", { a, b }, BLAS);
    const h = randomArray([3, 4], 7, { dtype: "float16" });
    const s = f32([4, 2], 8);
    await expectSameAsPython(mx.matmul(h, s), "mx.matmul(h, s)", { h, s }, BLAS);
  });
  test("empty operands give empty or zero products", async () => {
    const a = mx.zeros([0, 3]);
    const b = f32([3, 4], 9);
    await expectSameAsPython(mx.matmul(a, b), "mx.matmul(a, b)", { a, b });
    const c = mx.zeros([2, 0]);
    const d = mx.zeros([0, 4]);
    await expectSameAsPython(mx.matmul(c, d), "mx.matmul(c, d)", { c, d });
  });
});

describe("other products match Python MLX", () => {
  const a = f32([3, 4], 11);
  const b = f32([4, 5], 12);
  const c = f32([3, 5], 13);
  const v = f32([4], 14);
  const w = f32([4], 15);
  test("addmm with default and explicit alpha, beta, and a broadcast c", async () => {
    await expectSameAsPython(mx.addmm(c, a, b), "mx.addmm(c, a, b)", { a, b, c }, BLAS);
    await expectSameAsPython(
      mx.addmm(c, a, b, { alpha: 0.5, beta: -2 }),
      "mx.addmm(c, a, b, alpha=0.5, beta=-2.0)",
      { a, b, c },
      BLAS,
    );
    const row = f32([5], 16);
    await expectSameAsPython(mx.addmm(row, a, b, { alpha: 2 }), "mx.addmm(row, a, b, alpha=2.0)", { a, b, row }, BLAS);
  });
  test("addmm in float16 and bfloat16", async () => {
    for (const dtype of ["float16", "bfloat16"] as const) {
      const ah = mx.astype(a, dtype);
      const bh = mx.astype(b, dtype);
      const ch = mx.astype(c, dtype);
      await expectSameAsPython(
        mx.addmm(ch, ah, bh, { alpha: 0.25, beta: 3 }),
        "mx.addmm(c, a, b, alpha=0.25, beta=3.0)",
        { a: ah, b: bh, c: ch },
        EXACT,
      );
    }
  });
  test("outer, inner, vecdot", async () => {
    await expectSameAsPython(mx.outer(v, f32([3], 17)), "mx.outer(v, u)", { v, u: f32([3], 17) }, BLAS);
    await expectSameAsPython(mx.inner(v, w), "mx.inner(v, w)", { v, w }, BLAS);
    await expectSameAsPython(mx.inner(a, f32([2, 4], 18)), "mx.inner(a, x)", { a, x: f32([2, 4], 18) }, BLAS);
    const row = f32([1, 4], 60);
    await expectSameAsPython(mx.vecdot(a, row), "mx.vecdot(a, row)", { a, row }, BLAS);
    const t = f32([3, 4], 19);
    await expectSameAsPython(mx.vecdot(a, t, 0), "mx.vecdot(a, t, axis=0)", { a, t }, BLAS);
  });
  test("tensordot with a count and with axis lists", async () => {
    const x = f32([2, 3, 4], 20);
    const y = f32([3, 4, 5], 21);
    await expectSameAsPython(mx.tensordot(x, y), "mx.tensordot(x, y)", { x, y }, BLAS);
    await expectSameAsPython(mx.tensordot(x, y, 0), "mx.tensordot(x, y, axes=0)", { x, y }, BLAS);
    const z = f32([4, 2, 3], 22);
    await expectSameAsPython(
      mx.tensordot(x, z, [
        [1, 2],
        [2, 0],
      ]),
      "mx.tensordot(x, z, axes=[[1, 2], [2, 0]])",
      { x, z },
      BLAS,
    );
    await expectSameAsPython(
      mx.tensordot(x, z, [
        [-1, 0],
        [0, 1],
      ]),
      "mx.tensordot(x, z, axes=[[-1, 0], [0, 1]])",
      { x, z },
      BLAS,
    );
    await expectSameAsPython(mx.tensordot(x, z, [2, 0]), "mx.tensordot(x, z, axes=[[2], [0]])", { x, z }, BLAS);
  });
  test("einsum across contraction patterns", async () => {
    const x = f32([2, 3, 4], 23);
    const y = f32([2, 4, 5], 24);
    const sq = f32([4, 4], 25);
    const cases: [string, mx.Array[], string][] = [
      ["bij,bjk->bik", [x, y], "x, y"],
      ["ii->", [sq], "sq"],
      ["ii->i", [sq], "sq"],
      ["ij->ji", [sq], "sq"],
      ["i,j->ij", [v, w], "v, w"],
      ["...ij,...jk->...ik", [x, y], "x, y"],
      ["bij->", [x], "x"],
      ["ij,jk,kl->il", [sq, sq, sq], "sq, sq, sq"],
      ["bij,bjk", [x, y], "x, y"],
    ];
    for (const [subscripts, operands, names] of cases) {
      await expectSameAsPython(
        mx.einsum(subscripts, ...operands),
        `mx.einsum("${subscripts}", ${names})`,
        { x, y, sq, v, w },
        BLAS,
      );
    }
  });
  test("einsumPath gives Python's contraction order", async () => {
    const x = f32([8, 2], 26);
    const y = f32([2, 8], 27);
    const z = f32([8, 3], 28);
    const [path, description] = mx.einsumPath("ij,jk,kl->il", x, y, z);
    const [expected] = await oracle().run(
      'path, _ = mx.einsum_path("ij,jk,kl->il", x, y, z)\nresult = mx.array(path)',
      { x, y, z },
    );
    assert.deepEqual(path, (expected as mx.Array).tolist());
    assert.match(description, /ij,jk,kl->il/);
  });
  test("kron", async () => {
    const p = f32([2, 3], 29);
    const q = f32([3, 2], 30);
    await expectSameAsPython(mx.kron(p, q), "mx.kron(p, q)", { p, q }, EXACT);
    const r = randomInts([2, 2], 31, -5, 5);
    await expectSameAsPython(mx.kron(r, p), "mx.kron(r, p)", { r, p }, EXACT);
  });
  test("gatherMm picks matrices by index (the mixture-of-experts product)", async () => {
    const xs = f32([3, 1, 4], 32);
    const experts = f32([5, 4, 6], 33);
    const rhs = mx.array([4, 0, 2], "uint32");
    await expectSameAsPython(
      mx.gatherMm(xs, experts, { rhsIndices: rhs }),
      "mx.gather_mm(xs, experts, rhs_indices=rhs)",
      { xs, experts, rhs },
      BLAS,
    );
    const lhs = mx.array([2, 2, 1, 0], "uint32");
    const rhs2 = mx.array([1, 1, 3, 4], "uint32");
    await expectSameAsPython(
      mx.gatherMm(xs, experts, { lhsIndices: lhs, rhsIndices: rhs2, sortedIndices: false }),
      "mx.gather_mm(xs, experts, lhs_indices=lhs, rhs_indices=rhs2)",
      { xs, experts, lhs, rhs2 },
      BLAS,
    );
    const sorted = mx.array([0, 0, 3], "uint32");
    await expectSameAsPython(
      mx.gatherMm(xs, experts, { rhsIndices: sorted, sortedIndices: true }),
      "mx.gather_mm(xs, experts, rhs_indices=s, sorted_indices=True)",
      { xs, experts, s: sorted },
      BLAS,
    );
  });
  test("segmentedMm and blockMaskedMm", async () => {
    const p = f32([3, 8], 34);
    const q = f32([8, 5], 35);
    const segments = mx.array(
      [
        [0, 3],
        [3, 8],
        [2, 6],
      ],
      "uint32",
    );
    await expectSameAsPython(mx.segmentedMm(p, q, segments), "mx.segmented_mm(p, q, s)", { p, q, s: segments }, BLAS);
    const big = f32([64, 64], 36);
    const big2 = f32([64, 96], 37);
    const maskOut = mx.array([
      [true, false, true],
      [false, true, true],
    ]);
    const maskLhs = mx.array([
      [1, 0.5],
      [0, 2],
    ]);
    await expectSameAsPython(
      mx.blockMaskedMm(big, big2, 32, { maskOut, maskLhs }),
      "mx.block_masked_mm(a, b, 32, mask_out=mo, mask_lhs=ml)",
      { a: big, b: big2, mo: maskOut, ml: maskLhs },
      BLAS,
    );
  });
  test("hadamardTransform with the default and an explicit scale", async () => {
    const h = f32([3, 16], 38);
    await expectSameAsPython(mx.hadamardTransform(h), "mx.hadamard_transform(h)", { h }, EXACT);
    await expectSameAsPython(
      mx.hadamardTransform(h, { scale: 0.5 }),
      "mx.hadamard_transform(h, scale=0.5)",
      { h },
      EXACT,
    );
    const h12 = randomArray([2, 12], 39, { dtype: "float16" });
    await expectSameAsPython(mx.hadamardTransform(h12), "mx.hadamard_transform(h)", { h: h12 }, EXACT);
  });
});

// Python spelling of a norm order.
function pyOrd(ord: mx.NormOrder | undefined): string {
  if (ord === undefined) return "None";
  if (typeof ord === "string") return `"${ord}"`;
  if (ord === Number.POSITIVE_INFINITY) return "float('inf')";
  if (ord === Number.NEGATIVE_INFINITY) return "float('-inf')";
  return String(ord);
}

// Norms are MLX reductions, or singular values from LAPACK (orders 2, -2, "nuc"): the same code in
// both processes, hence the same bits.
describe("linalg.norm matches Python MLX", () => {
  const vec = f32([7], 40);
  const mat = f32([4, 5], 41);
  const batch = f32([2, 3, 4], 42);
  test("vector norms of every order", async () => {
    for (const ord of [undefined, 0, 1, -1, 2, 3, 0.5, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await expectSameAsPython(mx.linalg.norm(vec, ord), `mx.linalg.norm(vec, ord=${pyOrd(ord)})`, { vec }, EXACT);
    }
  });
  test("matrix norms of every order", async () => {
    for (const ord of [undefined, "fro", "nuc", 1, -1, 2, -2, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      await expectSameAsPython(
        mx.linalg.norm(mat, ord as mx.NormOrder | undefined),
        `mx.linalg.norm(mat, ord=${pyOrd(ord as mx.NormOrder | undefined)})`,
        { mat },
        EXACT,
      );
    }
  });
  test("axis, negative axes, keepdims and batched matrix norms", async () => {
    const cases: [mx.NormOrder | undefined, number | number[], boolean][] = [
      [undefined, -1, false],
      [undefined, 1, true],
      [1, 0, false],
      [3, -2, true],
      [Number.POSITIVE_INFINITY, 2, false],
      ["fro", [-2, -1], false],
      ["nuc", [1, 2], true],
      [2, [0, 2], false],
      [-1, [-1, 0], true],
      [Number.NEGATIVE_INFINITY, [1, 2], false],
    ];
    for (const [ord, axis, keepdims] of cases) {
      await expectSameAsPython(
        mx.linalg.norm(batch, ord, { axis, keepdims }),
        `mx.linalg.norm(b, ord=${pyOrd(ord)}, axis=${JSON.stringify(axis)}, keepdims=${keepdims ? "True" : "False"})`,
        { b: batch },
        EXACT,
      );
    }
  });
  test("options object in place of ord; float16 and integer inputs", async () => {
    await expectSameAsPython(
      mx.linalg.norm(batch, { axis: -1, keepdims: true }),
      "mx.linalg.norm(b, axis=-1, keepdims=True)",
      { b: batch },
      EXACT,
    );
    const half = mx.astype(mat, "float16");
    await expectSameAsPython(mx.linalg.norm(half), "mx.linalg.norm(h)", { h: half }, EXACT);
    await expectSameAsPython(
      mx.linalg.norm(half, 1, { axis: -1 }),
      "mx.linalg.norm(h, 1, axis=-1)",
      { h: half },
      EXACT,
    );
    const ints = randomInts([3, 4], 43, -9, 9);
    await expectSameAsPython(mx.linalg.norm(ints), "mx.linalg.norm(i)", { i: ints }, EXACT);
  });
});

// A symmetric positive-definite matrix (batched): a a^T + n I.
function spd(n: number, seed: number, batch: number[] = []): mx.Array {
  const a = f32([...batch, n, n], seed);
  return mx.add(mx.matmul(a, mx.swapaxes(a, -1, -2)), mx.multiply(mx.eye(n), n));
}

describe("linalg factorizations and solvers match Python MLX", () => {
  const sq = mx.add(f32([4, 4], 50), mx.multiply(mx.eye(4), 3));
  const batchSq = mx.add(f32([2, 3, 3], 51), mx.multiply(mx.eye(3), 2));
  const rect = f32([5, 3], 52);
  const pd = spd(4, 53);
  const pdBatch = spd(3, 54, [2]);
  const lower = mx.add(mx.multiply(f32([4, 4], 55), mx.tri(4)), mx.multiply(mx.eye(4), 2));
  const upper = mx.transpose(lower);

  test("inv and pinv", async () => {
    await expectSameAsPython(mx.linalg.inv(sq), "mx.linalg.inv(a)", { a: sq }, LAPACK);
    await expectSameAsPython(mx.linalg.inv(batchSq), "mx.linalg.inv(a)", { a: batchSq }, LAPACK);
    await expectSameAsPython(mx.linalg.pinv(rect), "mx.linalg.pinv(a)", { a: rect }, BLAS);
    const d = mx.astype(sq, "float64");
    await expectSameAsPython(
      mx.linalg.inv(d),
      "mx.linalg.inv(a.astype(mx.float64))",
      { a: d },
      {
        rtol: 1e-10,
        atol: 1e-12,
      },
    );
  });
  test("triInv, cholesky, choleskyInv (lower and upper)", async () => {
    await expectSameAsPython(mx.linalg.triInv(lower), "mx.linalg.tri_inv(a)", { a: lower }, LAPACK);
    await expectSameAsPython(
      mx.linalg.triInv(upper, { upper: true }),
      "mx.linalg.tri_inv(a, upper=True)",
      { a: upper },
      LAPACK,
    );
    await expectSameAsPython(mx.linalg.cholesky(pd), "mx.linalg.cholesky(a)", { a: pd }, LAPACK);
    await expectSameAsPython(
      mx.linalg.cholesky(pdBatch, { upper: true }),
      "mx.linalg.cholesky(a, upper=True)",
      { a: pdBatch },
      LAPACK,
    );
    const factor = mx.linalg.cholesky(pd);
    await expectSameAsPython(mx.linalg.choleskyInv(factor), "mx.linalg.cholesky_inv(l)", { l: factor }, BLAS);
    const upperFactor = mx.linalg.cholesky(pd, { upper: true });
    await expectSameAsPython(
      mx.linalg.choleskyInv(upperFactor, { upper: true }),
      "mx.linalg.cholesky_inv(u, upper=True)",
      { u: upperFactor },
      BLAS,
    );
  });
  test("qr and svd", async () => {
    await expectSameAsPython(mx.linalg.qr(rect), "mx.linalg.qr(a)", { a: rect }, LAPACK);
    await expectSameAsPython(mx.linalg.qr(batchSq), "mx.linalg.qr(a)", { a: batchSq }, LAPACK);
    await expectSameAsPython(mx.linalg.svd(rect), "mx.linalg.svd(a)", { a: rect }, LAPACK);
    await expectSameAsPython(
      mx.linalg.svd(batchSq, { computeUv: false }),
      "mx.linalg.svd(a, compute_uv=False)",
      { a: batchSq },
      LAPACK,
    );
  });
  test("svd reconstructs its input", () => {
    const [u, s, vt] = mx.linalg.svd(rect);
    const k = s.shape[0] as number;
    const uk = mx.reshape(mx.split(u, [k], 1)[0] as mx.Array, [5, k]);
    const rebuilt = mx.matmul(mx.multiply(uk, s), vt);
    assertClose(rebuilt, rect, { atol: 1e-5 });
  });
  test("eigh and eigvalsh from either triangle", async () => {
    await expectSameAsPython(mx.linalg.eigh(pd), "mx.linalg.eigh(a)", { a: pd }, LAPACK);
    await expectSameAsPython(mx.linalg.eigh(pdBatch, "U"), 'mx.linalg.eigh(a, UPLO="U")', { a: pdBatch }, LAPACK);
    await expectSameAsPython(mx.linalg.eigvalsh(pd), "mx.linalg.eigvalsh(a)", { a: pd }, LAPACK);
    // Only the named triangle is read: the lower-triangular matrix has the eigenvalues of its symmetrization.
    await expectSameAsPython(mx.linalg.eigvalsh(lower, "L"), 'mx.linalg.eigvalsh(a, UPLO="L")', { a: lower }, LAPACK);
  });
  test("eig and eigvals (complex results)", async () => {
    await expectSameAsPython(mx.linalg.eig(sq), "mx.linalg.eig(a)", { a: sq }, LAPACK);
    const values = mx.linalg.eigvals(batchSq);
    assert.equal(values.dtype, "complex64");
    await expectSameAsPython(values, "mx.linalg.eigvals(a)", { a: batchSq }, LAPACK);
  });
  test("lu, luFactor, det, slogdet", async () => {
    await expectSameAsPython(mx.linalg.lu(sq), "mx.linalg.lu(a)", { a: sq }, LAPACK);
    await expectSameAsPython(mx.linalg.luFactor(batchSq), "mx.linalg.lu_factor(a)", { a: batchSq }, LAPACK);
    await expectSameAsPython(mx.linalg.det(sq), "mx.linalg.det(a)", { a: sq }, LAPACK);
    await expectSameAsPython(mx.linalg.det(batchSq), "mx.linalg.det(a)", { a: batchSq }, LAPACK);
    await expectSameAsPython(mx.linalg.slogdet(batchSq), "mx.linalg.slogdet(a)", { a: batchSq }, LAPACK);
  });
  test("solve and solveTriangular with vector and matrix right-hand sides", async () => {
    const b = f32([4], 56);
    const bm = f32([4, 3], 57);
    await expectSameAsPython(mx.linalg.solve(sq, b), "mx.linalg.solve(a, b)", { a: sq, b }, BLAS);
    await expectSameAsPython(mx.linalg.solve(sq, bm), "mx.linalg.solve(a, b)", { a: sq, b: bm }, BLAS);
    await expectSameAsPython(
      mx.linalg.solveTriangular(lower, bm),
      "mx.linalg.solve_triangular(a, b)",
      { a: lower, b: bm },
      BLAS,
    );
    await expectSameAsPython(
      mx.linalg.solveTriangular(upper, b, { upper: true }),
      "mx.linalg.solve_triangular(a, b, upper=True)",
      { a: upper, b },
      BLAS,
    );
    const x = mx.linalg.solve(sq, bm);
    assertClose(mx.matmul(sq, x), bm, { atol: 1e-5 });
  });
  test("cross along the last and an explicit axis", async () => {
    const p = f32([4, 3], 58);
    const q = f32([4, 3], 59);
    await expectSameAsPython(mx.linalg.cross(p, q), "mx.linalg.cross(p, q)", { p, q }, EXACT);
    const pt = mx.transpose(p);
    const qt = mx.transpose(q);
    await expectSameAsPython(mx.linalg.cross(pt, qt, 0), "mx.linalg.cross(p, q, axis=0)", { p: pt, q: qt }, EXACT);
  });
});

describe("linalg errors are clear and leave the process running", () => {
  test("shape mismatches in products", () => {
    assert.throws(() => mx.matmul(mx.ones([2, 3]), mx.ones([4, 5])), /\[matmul\] Last dimension of first input/);
    assert.throws(() => mx.matmul(mx.ones([2, 3]), 2), /\[matmul\] Got 0 dimension input/);
    assert.throws(() => mx.matmul(mx.ones([2, 3], "int32"), mx.ones([3, 2], "int32")), /Only inexact types/);
    assert.throws(() => mx.addmm(mx.ones([5]), mx.ones([2, 3]), mx.ones([3, 4])), /cannot be broadcast/);
    assert.throws(() => mx.inner(mx.ones([2]), mx.ones([3])), /same last dimension/);
    assert.throws(() => mx.vecdot(mx.ones([2]), mx.ones([2]), 5), /axis is out of bounds/);
    assert.throws(() => mx.kron(mx.zeros([0, 3]), mx.ones([3, 4])), /cannot be empty/);
  });
  test("bad tensordot axes and einsum subscripts", () => {
    assert.throws(() => mx.tensordot(mx.ones([2, 3]), mx.ones([3, 2]), [[5], [0]]), /axis 5 is out of range for a/);
    assert.throws(() => mx.tensordot(mx.ones([2, 3]), mx.ones([3, 2]), [[1], [0, 1]]), /same size/);
    assert.throws(() => mx.tensordot(mx.ones([2, 3]), mx.ones([3, 2]), -1), /non-negative count/);
    assert.throws(() => mx.tensordot(mx.ones([2, 3]), mx.ones([3, 2]), "x" as never), /number or a pair/);
    assert.throws(() => mx.einsum("ij,jk->ik", mx.ones([2, 3])), /Number of operands, 1/);
    assert.throws(() => mx.einsum("ii->i", mx.ones([2, 3])), /repeated subscripts/);
    assert.throws(() => mx.einsum(3 as never, mx.ones([2])), /subscripts must be a string/);
    assert.throws(() => mx.einsum("i->i", 3 as never), /not an mx Array/);
  });
  test("bad norm orders and axes", () => {
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3, 4]), 2), /too many axes/);
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3]), "foo" as never), /Invalid ord value 'foo'/);
    assert.throws(() => mx.linalg.norm(mx.ones([3]), "fro"), /only supported for matrices/);
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3]), 3), /Invalid ord 3 for matrix norm/);
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3]), { axis: 7 }), /Invalid axis 7/);
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3]), Number.NaN), /not NaN/);
    assert.throws(() => mx.linalg.norm(mx.ones([2, 3]), true as never), /ord must be a number/);
  });
  test("factorizations of unsupported dtypes, shapes and singular matrices", () => {
    assert.throws(() => mx.linalg.inv(mx.ones([2, 3])), /only defined for square matrices/);
    assert.throws(() => mx.linalg.inv(mx.ones([3])), />= 2 dimensions/);
    assert.throws(() => mx.linalg.inv(mx.eye(3, 3, 0, "float16")), /must have type float32 or float64/);
    assert.throws(() => mx.linalg.cholesky(mx.eye(3, 3, 0, "int32")), /must have type float32 or float64/);
    assert.throws(() => mx.linalg.eigh(mx.eye(3), "X" as never), /UPLO must be "L" or "U"/);
    assert.throws(() => mx.linalg.solve(mx.eye(3), mx.ones([4])), /\[linalg::solve\] Last dimension/);
    assert.throws(() => mx.linalg.cross(mx.ones([4]), mx.ones([4])), /size 2 or 3/);
    // Singular inputs fail inside LAPACK, at evaluation: the error comes when the data is read.
    assert.throws(() => mx.linalg.inv(mx.zeros([3, 3])).tolist(), /LU factorization failed/);
    assert.throws(() => mx.linalg.solve(mx.zeros([3, 3]), mx.ones([3])).tolist(), /inversion failed/);
  });
  test("inputs that stop the process in plain MLX raise instead", () => {
    // LAPACK's argument checker (xerbla) would print a line and exit the process on NaN input.
    assert.throws(
      () =>
        mx.linalg
          .eig(
            mx.array([
              [Number.NaN, 1],
              [1, 1],
            ]),
          )[0]
          .tolist(),
      /\[linalg::eig\] the matrix holds NaN or Infinity/,
    );
    // Zero-sized matrices reach a division by zero (SIGFPE) in MLX's LU-based kernels.
    assert.throws(() => mx.linalg.inv(mx.zeros([0, 0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.inv(mx.zeros([2, 0, 0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.triInv(mx.zeros([0, 0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.choleskyInv(mx.zeros([0, 0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.lu(mx.zeros([3, 0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.luFactor(mx.zeros([0, 3])), /zero-sized axis/);
    assert.throws(() => mx.linalg.solve(mx.zeros([0, 0]), mx.zeros([0])), /zero-sized axis/);
    assert.throws(() => mx.linalg.solveTriangular(mx.zeros([0, 0]), mx.zeros([0])), /zero-sized axis/);
    // An empty stack of expert matrices has nothing to gather.
    assert.throws(
      () => mx.gatherMm(mx.ones([2, 1, 3]), mx.ones([0, 3, 5]), { rhsIndices: mx.array([0, 1]) }),
      /empty stack/,
    );
    // Empty batches still work and give empty results.
    assert.deepEqual(mx.linalg.inv(mx.zeros([0, 3, 3])).shape, [0, 3, 3]);
    assert.deepEqual(
      mx.gatherMm(mx.ones([2, 0, 3]), mx.ones([4, 3, 5]), { rhsIndices: mx.array([0, 1]) }).shape,
      [2, 0, 5],
    );
  });
  test("wrong JS types and disposed arrays", () => {
    assert.throws(() => mx.matmul("a" as never, mx.ones([2])), /expected an mx Array, a number or a boolean/);
    const gone = mx.ones([2, 2]);
    gone.dispose();
    assert.throws(() => mx.matmul(gone, mx.ones([2, 2])), /disposed/);
    assert.throws(() => mx.linalg.inv(gone), /disposed/);
    assert.throws(() => mx.addmm(mx.ones([2]), mx.ones([2, 2]), mx.ones([2, 2]), { alpha: "x" as never }), /alpha/);
    assert.throws(
      () => mx.gatherMm(mx.ones([2, 3]), mx.ones([4, 3, 5]), { rhsIndices: [0, 1] as never }),
      /rhsIndices must be an mx Array, got a JS array/,
    );
    assert.throws(
      () => mx.gatherMm(mx.ones([2, 3]), mx.ones([4, 3, 5]), { rhsIndices: mx.array([0.5]) }),
      /Indices must be integral/,
    );
  });
});
