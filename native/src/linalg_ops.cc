// Linear algebra: matrix products, contractions, einsum, norms and the mlx::core::linalg
// factorizations. The factorizations run on the CPU stream: MLX implements them with LAPACK only.
#include <cmath>
#include <sstream>

#include "mlux.h"

// LAPACK reports an illegal argument (e.g. a NaN that reaches a balancing routine) through
// xerbla_, whose reference version prints a line and stops the whole process. This definition
// takes precedence for the libmlx the addon loads (LAPACK calls it through its PLT, and the addon
// comes first in its own lookup scope): it returns instead, so the routine returns a negative
// info code, which MLX turns into an exception and we into a JavaScript Error.
extern "C" __attribute__((visibility("default"))) void xerbla_(const char*, const int*, size_t) {}

namespace mlux {

namespace {

const mx::Device kCpu(mx::Device::cpu);

// Matrix norms of order 2, -2 and "nuc" take an SVD, which only the CPU implements; other norms
// are plain reductions and run wherever the default stream is.
mx::StreamOrDevice NormStream(const mx::array& a, bool needs_svd, const std::optional<std::vector<int>>& axis) {
  size_t axes = axis ? axis->size() : a.ndim();
  if (needs_svd && axes == 2) return kCpu;
  return {};
}

// MLX's LU-based routines divide by the matrix size and die with SIGFPE on matrices with a
// zero-sized row or column axis; refuse them before they reach the kernel.
mx::array RequireNonEmptyMatrices(const mx::array& a, const char* op) {
  if (a.ndim() >= 2 && (a.shape(-1) == 0 || a.shape(-2) == 0)) {
    std::ostringstream out;
    out << "[linalg::" << op << "] matrices with a zero-sized axis are not supported, got shape " << a.shape();
    throw std::invalid_argument(out.str());
  }
  return a;
}

// LAPACK's eigen- and singular-value routines, given NaN or Infinity, corrupt the heap or never
// return (the error handler that MLX overrides lets them carry on), so those values are refused
// first. This evaluates the matrix; these routines run eagerly on the CPU anyway.
mx::array Finite(mx::array a, const char* op) {
  RequireFinite(a, op);
  return a;
}

}  // namespace

// ---- products ------------------------------------------------------------------------------------

MLUX_FN("matmul", Matmul) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::matmul(a, b));
}

// addmm(c, a, b, alpha, beta): beta * c + alpha * (a @ b)
MLUX_FN("addmm", Addmm) {
  mx::array c = ArrayArg(info, 0);
  auto [a, b] = OperandPair(info, 1);
  float alpha = static_cast<float>(NumberArg(info, 3, "alpha"));
  float beta = static_cast<float>(NumberArg(info, 4, "beta"));
  return Wrap(info.Env(), mx::addmm(c, a, b, alpha, beta));
}

// linear(x, w, bias | null): x @ w.T (+ bias), as addmm(bias, x, w.T) with alpha and beta 1, w.T
// kept with w's handle (KeptTranspose). Without a bias, an x of one batch row ([1, L, in]: a decode
// step, a single prompt) is multiplied by w.T with a leading axis of 1: one primitive instead of
// three, the same product of L rows. (With a bias, addmm would broadcast instead; with more rows, the
// 2-D w.T keeps the rows in one product; inside a transformation (grad, vmap) the product keeps its
// general form, since there the speed of building does not matter.)
MLUX_FN("linear", Linear) {
  mx::array x = ArrayArg(info, 0);
  auto bias = OptionalArrayArg(info, 2);
  bool one_batch_row = !bias && !x.is_tracer() && x.ndim() == 3 && x.shape(0) == 1;
  mx::array wt = KeptTranspose(info[1], one_batch_row);
  int inputs = wt.shape(-2);
  if (x.ndim() == 0 || x.shape(-1) != inputs) {
    std::string last = x.ndim() == 0 ? "a scalar" : "a last axis of " + std::to_string(x.shape(-1));
    throw std::invalid_argument("linear: the weight [" + std::to_string(wt.shape(-1)) + ", " + std::to_string(inputs) +
                                "] takes inputs with a last axis of " + std::to_string(inputs) + ", got " + last);
  }
  return Wrap(info.Env(), bias ? mx::addmm(*bias, x, wt, 1.0f, 1.0f) : mx::matmul(x, wt));
}

MLUX_FN("outer", Outer) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::outer(a, b));
}

MLUX_FN("inner", Inner) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::inner(a, b));
}

// vecdot(a, b, axis)
MLUX_FN("vecdot", Vecdot) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::vecdot(a, b, IntArg(info, 2, "axis")));
}

// tensordot(a, b, axes): a count of trailing/leading axes, or [axesOfA, axesOfB].
MLUX_FN("tensordot", Tensordot) {
  auto [a, b] = OperandPair(info, 0);
  if (info[2].IsNumber()) {
    int count = IntArg(info, 2, "axes");
    if (count < 0) {
      throw std::invalid_argument("[tensordot] axes must be a non-negative count, got " + std::to_string(count));
    }
    return Wrap(info.Env(), mx::tensordot(a, b, count));
  }
  if (!info[2].IsArray() || info[2].As<Napi::Array>().Length() != 2) {
    throw Napi::TypeError::New(info.Env(), "tensordot axes must be a number or a pair [axesOfA, axesOfB]");
  }
  auto pair = info[2].As<Napi::Array>();
  auto side = [&](uint32_t k) {
    Napi::Value v = pair.Get(k);
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::trunc(d) != d) throw Napi::TypeError::New(info.Env(), "tensordot axes must be integers");
      return std::vector<int>{static_cast<int>(d)};
    }
    if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), "tensordot axes must be a pair of integer lists");
    auto list = v.As<Napi::Array>();
    std::vector<int> out;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value e = list.Get(i);
      double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
      if (!std::isfinite(d) || std::trunc(d) != d) {
        throw Napi::TypeError::New(info.Env(), "tensordot axes must be a pair of integer lists");
      }
      out.push_back(static_cast<int>(d));
    }
    return out;
  };
  auto axes_a = side(0);
  auto axes_b = side(1);
  auto check = [](const std::vector<int>& axes, const mx::array& x, const char* name) {
    for (int ax : axes) {
      if (ax < -static_cast<int>(x.ndim()) || ax >= static_cast<int>(x.ndim())) {
        throw std::invalid_argument("[tensordot] axis " + std::to_string(ax) + " is out of range for " + name +
                                    " with " + std::to_string(x.ndim()) + " dimensions");
      }
    }
  };
  check(axes_a, a, "a");
  check(axes_b, b, "b");
  return Wrap(info.Env(), mx::tensordot(a, b, axes_a, axes_b));
}

// einsum(subscripts, operands)
MLUX_FN("einsum", Einsum) {
  return Wrap(info.Env(), mx::einsum(StringArg(info, 0, "subscripts"), ArrayListArg(info, 1)));
}

// einsumPath(subscripts, operands) -> [contraction path (list of index lists), description]
MLUX_FN("einsumPath", EinsumPath) {
  auto [path, text] = mx::einsum_path(StringArg(info, 0, "subscripts"), ArrayListArg(info, 1));
  auto env = info.Env();
  auto steps = Napi::Array::New(env, path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    auto step = Napi::Array::New(env, path[i].size());
    for (size_t j = 0; j < path[i].size(); ++j) step.Set(j, Napi::Number::New(env, path[i][j]));
    steps.Set(i, step);
  }
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, steps);
  out.Set(1u, Napi::String::New(env, text));
  return out;
}

MLUX_FN("kron", Kron) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::kron(a, b));
}

// gatherMm(a, b, lhsIndices?, rhsIndices?, sortedIndices)
MLUX_FN("gatherMm", GatherMm) {
  mx::array a = ArrayArg(info, 0);
  mx::array b = ArrayArg(info, 1);
  std::optional<mx::array> lhs, rhs;
  if (!IsMissing(info, 2)) lhs = ArrayArg(info, 2);
  if (!IsMissing(info, 3)) rhs = ArrayArg(info, 3);
  mx::array out = mx::gather_mm(a, b, lhs, rhs, BoolArg(info, 4, false));
  // The kernel divides by the stacked operands' sizes (SIGFPE when one is empty): an empty
  // product is returned as such, and indices into an empty stack are refused. It also reads
  // whatever matrix an index names (and its gradient writes there), so indices are checked.
  if (a.size() != 0 && b.size() != 0) {
    if (lhs) RequireIndicesBelow(*lhs, BatchCount(a), "gather_mm", "lhsIndices");
    if (rhs) RequireIndicesBelow(*rhs, BatchCount(b), "gather_mm", "rhsIndices");
    return Wrap(info.Env(), out);
  }
  if (out.size() == 0 || a.shape(-1) == 0) return Wrap(info.Env(), mx::zeros(out.shape(), out.dtype()));
  throw std::invalid_argument("[gather_mm] the indices select matrices from an empty stack");
}

// segmentedMm(a, b, segments)
// The kernel reads a[:, start:end] and b[start:end, :] for each segment without checking the
// bounds, so every bound must lie in [0, K] and no segment may end before it starts.
MLUX_FN("segmentedMm", SegmentedMm) {
  mx::array a = ArrayArg(info, 0);
  mx::array segments = ArrayArg(info, 2);
  mx::array out = mx::segmented_mm(a, ArrayArg(info, 1), segments);
  if (segments.size() != 0) {
    int64_t k = a.ndim() > 0 ? a.shape(-1) : 0;
    RequireIndicesBelow(segments, k + 1, "segmented_mm", "segments");
    mx::array starts = mx::take(segments, mx::array(0), -1);
    mx::array ends = mx::take(segments, mx::array(1), -1);
    mx::array backwards = mx::any(mx::greater(starts, ends));
    RequireMemoryFor({backwards});
    if (backwards.item<bool>()) throw std::invalid_argument("[segmented_mm] a segment ends before it starts");
  }
  return Wrap(info.Env(), out);
}

// blockMaskedMm(a, b, blockSize, maskOut?, maskLhs?, maskRhs?)
MLUX_FN("blockMaskedMm", BlockMaskedMm) {
  std::optional<mx::array> out, lhs, rhs;
  if (!IsMissing(info, 3)) out = ArrayArg(info, 3);
  if (!IsMissing(info, 4)) lhs = ArrayArg(info, 4);
  if (!IsMissing(info, 5)) rhs = ArrayArg(info, 5);
  return Wrap(info.Env(),
              mx::block_masked_mm(ArrayArg(info, 0), ArrayArg(info, 1), IntArg(info, 2, "blockSize"), out, lhs, rhs));
}

// hadamardTransform(a, scale?)
MLUX_FN("hadamardTransform", HadamardTransform) {
  auto scale = OptionalNumberArg(info, 1, "scale");
  std::optional<float> scale_f = scale ? std::optional<float>(static_cast<float>(*scale)) : std::nullopt;
  mx::array a = ArrayArg(info, 0);
  // MLX's own check lets through sizes its kernels do not handle (36 gives wrong numbers, 60
  // corrupts the heap): only 2^k, 12 * 2^k, 20 * 2^k and 28 * 2^k are computed correctly.
  if (a.ndim() > 0) {
    int64_t size = a.shape(-1);
    bool supported = false;
    for (int64_t m : {1, 12, 20, 28}) {
      if (size > 0 && size % m == 0) {
        int64_t power = size / m;
        supported = supported || (power & (power - 1)) == 0;
      }
    }
    if (!supported) {
      throw std::invalid_argument("[hadamard_transform] the last axis has size " + std::to_string(size) +
                                  "; it must be a power of 2, or 12, 20 or 28 times one");
    }
  }
  return Wrap(info.Env(), mx::hadamard_transform(a, scale_f));
}

// ---- linalg ----------------------------------------------------------------------------------------

// linalgNorm(a, ord, axis, keepdims): ord undefined/null (2-norm / Frobenius), a number (incl.
// +-Infinity) or a string ("fro", "nuc").
MLUX_FN("linalgNorm", LinalgNorm) {
  mx::array a = ArrayArg(info, 0);
  auto axis = AxesArg(info, 2);
  bool keepdims = BoolArg(info, 3, false);
  if (IsMissing(info, 1)) return Wrap(info.Env(), mx::linalg::norm(a, axis, keepdims));
  if (info[1].IsString()) {
    std::string ord = StringArg(info, 1, "ord");
    if (ord == "nuc") RequireFinite(a, "norm");
    return Wrap(info.Env(), mx::linalg::norm(a, ord, axis, keepdims, NormStream(a, ord == "nuc", axis)));
  }
  double ord = NumberArg(info, 1, "ord");
  if (std::isnan(ord)) throw std::invalid_argument("[linalg::norm] ord must be a number, not NaN");
  bool needs_svd = ord == 2.0 || ord == -2.0;
  if (needs_svd && (axis ? axis->size() : a.ndim()) == 2) RequireFinite(a, "norm");
  return Wrap(info.Env(), mx::linalg::norm(a, ord, axis, keepdims, NormStream(a, needs_svd, axis)));
}

MLUX_FN("linalgInv", LinalgInv) {
  return Wrap(info.Env(), mx::linalg::inv(RequireNonEmptyMatrices(ArrayArg(info, 0), "inv"), kCpu));
}

MLUX_FN("linalgPinv", LinalgPinv) { return Wrap(info.Env(), mx::linalg::pinv(Finite(ArrayArg(info, 0), "pinv"), kCpu)); }

MLUX_FN("linalgDet", LinalgDet) { return Wrap(info.Env(), mx::linalg::det(ArrayArg(info, 0), kCpu)); }

MLUX_FN("linalgEigvals", LinalgEigvals) {
  return Wrap(info.Env(), mx::linalg::eigvals(Finite(ArrayArg(info, 0), "eigvals"), kCpu));
}

// linalgTriInv(a, upper)
MLUX_FN("linalgTriInv", LinalgTriInv) {
  mx::array a = RequireNonEmptyMatrices(ArrayArg(info, 0), "tri_inv");
  return Wrap(info.Env(), mx::linalg::tri_inv(a, BoolArg(info, 1, false), kCpu));
}

// linalgCholesky(a, upper)
MLUX_FN("linalgCholesky", LinalgCholesky) {
  return Wrap(info.Env(), mx::linalg::cholesky(ArrayArg(info, 0), BoolArg(info, 1, false), kCpu));
}

// linalgCholeskyInv(factor, upper)
MLUX_FN("linalgCholeskyInv", LinalgCholeskyInv) {
  mx::array a = RequireNonEmptyMatrices(ArrayArg(info, 0), "cholesky_inv");
  return Wrap(info.Env(), mx::linalg::cholesky_inv(a, BoolArg(info, 1, false), kCpu));
}

MLUX_FN("linalgQr", LinalgQr) {
  auto [q, r] = mx::linalg::qr(ArrayArg(info, 0), kCpu);
  return WrapAll(info.Env(), {q, r});
}

// linalgSvd(a, computeUv) -> [U, S, Vt] or [S]
MLUX_FN("linalgSvd", LinalgSvd) {
  return WrapAll(info.Env(), mx::linalg::svd(Finite(ArrayArg(info, 0), "svd"), BoolArg(info, 1, true), kCpu));
}

// linalgEig(a) -> [eigenvalues, eigenvectors], complex64
MLUX_FN("linalgEig", LinalgEig) {
  auto [w, v] = mx::linalg::eig(Finite(ArrayArg(info, 0), "eig"), kCpu);
  return WrapAll(info.Env(), {w, v});
}

// linalgEigh(a, uplo) -> [eigenvalues, eigenvectors]
MLUX_FN("linalgEigh", LinalgEigh) {
  auto [w, v] = mx::linalg::eigh(Finite(ArrayArg(info, 0), "eigh"), StringArg(info, 1, "UPLO"), kCpu);
  return WrapAll(info.Env(), {w, v});
}

MLUX_FN("linalgEigvalsh", LinalgEigvalsh) {
  return Wrap(info.Env(), mx::linalg::eigvalsh(Finite(ArrayArg(info, 0), "eigvalsh"), StringArg(info, 1, "UPLO"), kCpu));
}

// linalgLu(a) -> [P (row permutation indices), L, U]
MLUX_FN("linalgLu", LinalgLu) {
  return WrapAll(info.Env(), mx::linalg::lu(RequireNonEmptyMatrices(ArrayArg(info, 0), "lu"), kCpu));
}

// linalgLuFactor(a) -> [LU, pivots]
MLUX_FN("linalgLuFactor", LinalgLuFactor) {
  auto [lu, pivots] = mx::linalg::lu_factor(RequireNonEmptyMatrices(ArrayArg(info, 0), "lu_factor"), kCpu);
  return WrapAll(info.Env(), {lu, pivots});
}

// linalgSlogdet(a) -> [sign, log|det|]
MLUX_FN("linalgSlogdet", LinalgSlogdet) {
  auto [sign, logdet] = mx::linalg::slogdet(ArrayArg(info, 0), kCpu);
  return WrapAll(info.Env(), {sign, logdet});
}

MLUX_FN("linalgSolve", LinalgSolve) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::linalg::solve(RequireNonEmptyMatrices(a, "solve"), b, kCpu));
}

// linalgSolveTriangular(a, b, upper)
MLUX_FN("linalgSolveTriangular", LinalgSolveTriangular) {
  auto [a, b] = OperandPair(info, 0);
  bool upper = BoolArg(info, 2, false);
  return Wrap(info.Env(), mx::linalg::solve_triangular(RequireNonEmptyMatrices(a, "solve_triangular"), b, upper, kCpu));
}

// linalgCross(a, b, axis)
MLUX_FN("linalgCross", LinalgCross) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::linalg::cross(a, b, IntArg(info, 2, "axis"), kCpu));
}

}  // namespace mlux
