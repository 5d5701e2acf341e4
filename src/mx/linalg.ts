// Linear algebra: matrix products and contractions (top level, as in mlx.core) and the
// mx.linalg namespace (norms, inverses, solvers, factorizations).
import { MxArray, wrap, wrapAll } from "./array.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, handles, type Operand, operand } from "./operand.ts";

const n = nativeFunctions(
  "addmm",
  "blockMaskedMm",
  "einsum",
  "einsumPath",
  "gatherMm",
  "hadamardTransform",
  "inner",
  "kron",
  "linalgCholesky",
  "linalgCholeskyInv",
  "linalgCross",
  "linalgDet",
  "linalgEig",
  "linalgEigh",
  "linalgEigvals",
  "linalgEigvalsh",
  "linalgInv",
  "linalgLu",
  "linalgLuFactor",
  "linalgNorm",
  "linalgPinv",
  "linalgQr",
  "linalgSlogdet",
  "linalgSolve",
  "linalgSolveTriangular",
  "linalgSvd",
  "linalgTriInv",
  "linear",
  "matmul",
  "outer",
  "segmentedMm",
  "tensordot",
  "vecdot",
);

// ---- products (top level) ---------------------------------------------------------------------------

/**
 * Matrix product with NumPy semantics: batch axes broadcast; a 1-D operand is treated as a row
 * (left) or column (right) vector and that axis is removed from the result.
 */
export function matmul(a: Operand, b: Operand): MxArray {
  return wrap(n.matmul(operand(a), operand(b)));
}

/** beta * c + alpha * (a @ b), in one fused product (alpha and beta default to 1). */
export function addmm(c: Operand, a: Operand, b: Operand, options: { alpha?: number; beta?: number } = {}): MxArray {
  return wrap(n.addmm(operand(c), operand(a), operand(b), options.alpha ?? 1, options.beta ?? 1));
}

/**
 * x Wᵀ (+ b) for a 2-D weight [outputs, inputs] (mlx.nn.Linear's product): the values of
 * `addmm(b, x, transpose(w))` (or `matmul(x, transpose(w))`), bit for bit. A computed weight's
 * transpose is made once and kept with the weight, freed with it, so a product repeated at every
 * decode step costs one op instead of two. Without a bias, an x of one batch row ([1, L, inputs])
 * is multiplied by a kept [1, inputs, outputs] view: one op, where MLX otherwise flattens and
 * unflattens x around the product.
 */
export function linear(x: MxArray, weight: MxArray, bias?: MxArray): MxArray {
  if (!(weight instanceof MxArray))
    throw new TypeError(`linear: the weight must be an mx Array, got ${describe(weight)}`);
  return wrap(n.linear(operand(x), weight.handle, bias === undefined ? null : operand(bias)));
}

/** The outer product of two vectors (inputs are flattened first). */
export function outer(a: Operand, b: Operand): MxArray {
  return wrap(n.outer(operand(a), operand(b)));
}

/** The inner product: a sum over the last axes of a and b (a plain product for scalars). */
export function inner(a: Operand, b: Operand): MxArray {
  return wrap(n.inner(operand(a), operand(b)));
}

/** The dot product of vectors along `axis` (default -1), broadcasting the other axes. */
export function vecdot(a: Operand, b: Operand, axis = -1): MxArray {
  return wrap(n.vecdot(operand(a), operand(b), axis));
}

/** How tensordot pairs axes: the last `count` of a with the first `count` of b, or explicit lists. */
export type TensordotAxes = number | readonly [number | readonly number[], number | readonly number[]];

/** Contracts a and b over the given axes (default 2: the last two of a with the first two of b). */
export function tensordot(a: Operand, b: Operand, axes: TensordotAxes = 2): MxArray {
  return wrap(n.tensordot(operand(a), operand(b), axes));
}

/** Einstein summation, e.g. einsum("bij,bjk->bik", a, b). */
export function einsum(subscripts: string, ...operands: MxArray[]): MxArray {
  return wrap(n.einsum(checkSubscripts(subscripts), handles(operands)));
}

/** The contraction order einsum picks: the list of operand index groups and a printed summary. */
export function einsumPath(subscripts: string, ...operands: MxArray[]): [path: number[][], description: string] {
  return n.einsumPath(checkSubscripts(subscripts), handles(operands)) as [number[][], string];
}

// An optional Array option: undefined/null for none, else it must be an Array.
function optionalHandle(a: MxArray | null | undefined, what: string): Handle | undefined {
  if (a === undefined || a === null) return undefined;
  if (!(a instanceof MxArray)) throw new TypeError(`${what} must be an mx Array, got ${describe(a)}`);
  return a.handle;
}

function checkSubscripts(subscripts: string): string {
  if (typeof subscripts !== "string") {
    throw new TypeError(`einsum subscripts must be a string like "ij,jk->ik", got ${describe(subscripts)}`);
  }
  return subscripts;
}

/** The Kronecker product. */
export function kron(a: Operand, b: Operand): MxArray {
  return wrap(n.kron(operand(a), operand(b)));
}

/**
 * Matrix products where each row block of `a` and matrix of `b` is picked by index arrays (the
 * mixture-of-experts product): out[i] = a[lhsIndices[i]] @ b[rhsIndices[i]]. `sortedIndices`
 * promises rhsIndices are sorted, which allows a faster kernel.
 */
export function gatherMm(
  a: MxArray,
  b: MxArray,
  options: { lhsIndices?: MxArray; rhsIndices?: MxArray; sortedIndices?: boolean } = {},
): MxArray {
  return wrap(
    n.gatherMm(
      operand(a),
      operand(b),
      optionalHandle(options.lhsIndices, "lhsIndices"),
      optionalHandle(options.rhsIndices, "rhsIndices"),
      options.sortedIndices ?? false,
    ),
  );
}

/**
 * Products over slices of the contracted axis: segments has shape [..., 2], each row a [start, end)
 * range k, and the result holds a[:, k] @ b[k, :] for each, with shape [..., M, N].
 */
export function segmentedMm(a: MxArray, b: MxArray, segments: MxArray): MxArray {
  return wrap(n.segmentedMm(operand(a), operand(b), operand(segments)));
}

/**
 * a @ b computed block by block (blockSize 32 or 64), skipping blocks whose mask is false and
 * scaling by float masks: maskOut over output blocks, maskLhs / maskRhs over input blocks.
 */
export function blockMaskedMm(
  a: MxArray,
  b: MxArray,
  blockSize: number,
  options: { maskOut?: MxArray; maskLhs?: MxArray; maskRhs?: MxArray } = {},
): MxArray {
  return wrap(
    n.blockMaskedMm(
      operand(a),
      operand(b),
      blockSize,
      optionalHandle(options.maskOut, "maskOut"),
      optionalHandle(options.maskLhs, "maskLhs"),
      optionalHandle(options.maskRhs, "maskRhs"),
    ),
  );
}

/** Multiplies the last axis (a power of 2, or 12/20/28 times one) by the Hadamard matrix; scale defaults to 1/sqrt(n). */
export function hadamardTransform(a: MxArray, options: { scale?: number } = {}): MxArray {
  return wrap(n.hadamardTransform(operand(a), options.scale));
}

// ---- mx.linalg -------------------------------------------------------------------------------------------

/**
 * A norm order: a number (p-norm of vectors; 1, -1, 2, -2, Infinity, -Infinity for matrices),
 * "fro" (Frobenius) or "nuc" (nuclear, matrices only).
 */
export type NormOrder = number | "fro" | "nuc";

export interface NormOptions {
  /** One axis (vector norm) or two (matrix norm); default: every axis (flattened 2-norm) when ord is unset. */
  axis?: number | readonly number[];
  keepdims?: boolean;
}

/**
 * Vector or matrix norm. Without ord: the 2-norm of the flattened array (or along `axis`, the
 * Frobenius norm for two axes). With ord but no axis, the array must be 1-D or 2-D. Matrix norms
 * of order 2, -2 and "nuc" take an SVD and run on the CPU.
 */
function norm(a: MxArray, ord?: NormOrder | null | NormOptions, options: NormOptions = {}): MxArray {
  let order: NormOrder | null | undefined;
  if (typeof ord === "object" && ord !== null) {
    options = ord;
    order = undefined;
  } else order = ord;
  if (order !== undefined && order !== null && typeof order !== "number" && typeof order !== "string") {
    throw new TypeError(`linalg.norm: ord must be a number, "fro" or "nuc", got ${describe(order)}`);
  }
  return wrap(n.linalgNorm(operand(a), order, options.axis, options.keepdims ?? false));
}

/** A triangle selector: "L" (lower, default) or "U" (upper). */
export type Uplo = "L" | "U";

/** The inverse of square matrices (batched over leading axes). */
function inv(a: MxArray): MxArray {
  return wrap(n.linalgInv(operand(a)));
}

/** The Moore-Penrose pseudo-inverse (via SVD). */
function pinv(a: MxArray): MxArray {
  return wrap(n.linalgPinv(operand(a)));
}

/** The inverse of triangular matrices: lower unless `upper`. */
function triInv(a: MxArray, options: { upper?: boolean } = {}): MxArray {
  return wrap(n.linalgTriInv(operand(a), options.upper ?? false));
}

/** The Cholesky factor of symmetric positive-definite matrices: L (default) or U with `upper`. */
function cholesky(a: MxArray, options: { upper?: boolean } = {}): MxArray {
  return wrap(n.linalgCholesky(operand(a), options.upper ?? false));
}

/** The inverse of A given its Cholesky factor (lower unless `upper`). */
function choleskyInv(factor: MxArray, options: { upper?: boolean } = {}): MxArray {
  return wrap(n.linalgCholeskyInv(operand(factor), options.upper ?? false));
}

/** The QR factorization [Q, R]: orthonormal Q and upper-triangular R with a = Q @ R. */
function qr(a: MxArray): [q: MxArray, r: MxArray] {
  return wrapAll(n.linalgQr(operand(a)) as Handle[]) as [MxArray, MxArray];
}

/**
 * The singular value decomposition [U, S, Vt] with a = U @ diag(S) @ Vt (singular values
 * descending); with `{ computeUv: false }` only S.
 */
function svd(a: MxArray, options?: { computeUv?: true }): [u: MxArray, s: MxArray, vt: MxArray];
function svd(a: MxArray, options: { computeUv: false }): MxArray;
function svd(a: MxArray, options: { computeUv?: boolean } = {}): MxArray | MxArray[] {
  const computeUv = options.computeUv ?? true;
  const out = wrapAll(n.linalgSvd(operand(a), computeUv) as Handle[]);
  return computeUv ? out : (out[0] as MxArray);
}

/** Eigenvalues and eigenvectors (columns) [w, V] of general square matrices, as complex64. */
function eig(a: MxArray): [values: MxArray, vectors: MxArray] {
  return wrapAll(n.linalgEig(operand(a)) as Handle[]) as [MxArray, MxArray];
}

/** Eigenvalues of general square matrices, as complex64. */
function eigvals(a: MxArray): MxArray {
  return wrap(n.linalgEigvals(operand(a)));
}

/** Eigenvalues (ascending) and eigenvectors (columns) [w, V] of symmetric / Hermitian matrices, read from one triangle. */
function eigh(a: MxArray, uplo: Uplo = "L"): [values: MxArray, vectors: MxArray] {
  return wrapAll(n.linalgEigh(operand(a), checkUplo(uplo)) as Handle[]) as [MxArray, MxArray];
}

/** Eigenvalues (ascending) of symmetric / Hermitian matrices, read from one triangle. */
function eigvalsh(a: MxArray, uplo: Uplo = "L"): MxArray {
  return wrap(n.linalgEigvalsh(operand(a), checkUplo(uplo)));
}

function checkUplo(uplo: Uplo): Uplo {
  if (uplo !== "L" && uplo !== "U") throw new TypeError(`UPLO must be "L" or "U", got ${describe(uplo)}`);
  return uplo;
}

/** The LU factorization with partial pivoting [P, L, U]: a[P] = L @ U, P the row permutation as indices. */
function lu(a: MxArray): [p: MxArray, l: MxArray, u: MxArray] {
  return wrapAll(n.linalgLu(operand(a)) as Handle[]) as [MxArray, MxArray, MxArray];
}

/** LAPACK's compact LU form [LU, pivots]: L and U packed in one matrix, and the row swaps. */
function luFactor(a: MxArray): [lu: MxArray, pivots: MxArray] {
  return wrapAll(n.linalgLuFactor(operand(a)) as Handle[]) as [MxArray, MxArray];
}

/** The determinant of square matrices. */
function det(a: MxArray): MxArray {
  return wrap(n.linalgDet(operand(a)));
}

/** [sign, log|det|] of square matrices (stable where the determinant over- or underflows). */
function slogdet(a: MxArray): [sign: MxArray, logabsdet: MxArray] {
  return wrapAll(n.linalgSlogdet(operand(a)) as Handle[]) as [MxArray, MxArray];
}

/** Solves a @ x = b for x (b a vector or matrix, batched with a). */
function solve(a: MxArray, b: Operand): MxArray {
  return wrap(n.linalgSolve(operand(a), operand(b)));
}

/** Solves a @ x = b for triangular a: lower unless `upper`. */
function solveTriangular(a: MxArray, b: Operand, options: { upper?: boolean } = {}): MxArray {
  return wrap(n.linalgSolveTriangular(operand(a), operand(b), options.upper ?? false));
}

/** The cross product of 3-vectors along `axis` (default -1). */
function cross(a: Operand, b: Operand, axis = -1): MxArray {
  return wrap(n.linalgCross(operand(a), operand(b), axis));
}

/**
 * mx.linalg: norms and the LAPACK-backed factorizations. The factorizations always run on the CPU
 * stream (MLX has no GPU kernels for them), so they work the same on Apple GPU and Linux.
 */
export const linalg = {
  norm,
  inv,
  pinv,
  triInv,
  cholesky,
  choleskyInv,
  qr,
  svd,
  eig,
  eigvals,
  eigh,
  eigvalsh,
  lu,
  luFactor,
  det,
  slogdet,
  solve,
  solveTriangular,
  cross,
} as const;
