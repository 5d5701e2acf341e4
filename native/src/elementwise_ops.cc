// Elementwise math with broadcasting: unary functions, binary operators, comparisons, logic.
#include "mlux.h"

namespace mlux {

#define MLUX_UNARY(js_name, op) \
  MLUX_FN(js_name, Unary_##op) { return Wrap(info.Env(), mx::op(ArrayArg(info, 0))); }

#define MLUX_BINARY(js_name, op)                \
  MLUX_FN(js_name, Binary_##op) {               \
    auto [a, b] = OperandPair(info, 0);         \
    return Wrap(info.Env(), mx::op(a, b));      \
  }

MLUX_UNARY("abs", abs)
MLUX_UNARY("negative", negative)
MLUX_UNARY("sign", sign)
MLUX_UNARY("square", square)
MLUX_UNARY("sqrt", sqrt)
MLUX_UNARY("rsqrt", rsqrt)
MLUX_UNARY("reciprocal", reciprocal)
MLUX_UNARY("exp", exp)
MLUX_UNARY("expm1", expm1)
MLUX_UNARY("log", log)
MLUX_UNARY("log1p", log1p)
MLUX_UNARY("log2", log2)
MLUX_UNARY("log10", log10)
MLUX_UNARY("sin", sin)
MLUX_UNARY("cos", cos)
MLUX_UNARY("tan", tan)
MLUX_UNARY("arcsin", arcsin)
MLUX_UNARY("arccos", arccos)
MLUX_UNARY("arctan", arctan)
MLUX_UNARY("sinh", sinh)
MLUX_UNARY("cosh", cosh)
MLUX_UNARY("tanh", tanh)
MLUX_UNARY("arcsinh", arcsinh)
MLUX_UNARY("arccosh", arccosh)
MLUX_UNARY("arctanh", arctanh)
MLUX_UNARY("sigmoid", sigmoid)
MLUX_UNARY("erf", erf)
MLUX_UNARY("erfinv", erfinv)
MLUX_UNARY("floor", floor)
MLUX_UNARY("ceil", ceil)
MLUX_UNARY("trunc", trunc)
MLUX_UNARY("isnan", isnan)
MLUX_UNARY("isinf", isinf)
MLUX_UNARY("isfinite", isfinite)
MLUX_UNARY("isposinf", isposinf)
MLUX_UNARY("isneginf", isneginf)
MLUX_UNARY("logicalNot", logical_not)
MLUX_UNARY("bitwiseInvert", bitwise_invert)
MLUX_UNARY("real", real)
MLUX_UNARY("imag", imag)
MLUX_UNARY("conjugate", conjugate)
MLUX_UNARY("degrees", degrees)
MLUX_UNARY("radians", radians)
MLUX_UNARY("stopGradient", stop_gradient)
MLUX_UNARY("copy", copy)

MLUX_BINARY("add", add)
MLUX_BINARY("subtract", subtract)
MLUX_BINARY("multiply", multiply)
MLUX_BINARY("divide", divide)
// The most negative int32/int64 divided by -1 overflows, and the CPU traps the division
// (SIGFPE) inside MLX's kernel. Wherever the divisor is -1 the kernel divides by 1 instead and the
// result is set directly: the quotient is -a (wrapping, as NumPy gives), the remainder 0. Narrower
// integers are widened before C++ divides them, so they cannot trap.
static bool DivisionCanTrap(const mx::array& a, const mx::array& b) {
  mx::Dtype t = mx::promote_types(a.dtype(), b.dtype());
  return t == mx::int32 || t == mx::int64;
}

MLUX_FN("floorDivide", FloorDivide) {
  auto [a, b] = OperandPair(info, 0);
  if (!DivisionCanTrap(a, b)) return Wrap(info.Env(), mx::floor_divide(a, b));
  mx::array by_minus_one = mx::equal(b, mx::array(-1, b.dtype()));
  mx::array safe = mx::where(by_minus_one, mx::array(1, b.dtype()), b);
  mx::array q = mx::floor_divide(a, safe);
  return Wrap(info.Env(), mx::where(by_minus_one, mx::astype(mx::negative(a), q.dtype()), q));
}

MLUX_FN("remainder", Remainder) {
  auto [a, b] = OperandPair(info, 0);
  if (!DivisionCanTrap(a, b)) return Wrap(info.Env(), mx::remainder(a, b));
  mx::array by_minus_one = mx::equal(b, mx::array(-1, b.dtype()));
  mx::array safe = mx::where(by_minus_one, mx::array(1, b.dtype()), b);
  mx::array r = mx::remainder(a, safe);
  return Wrap(info.Env(), mx::where(by_minus_one, mx::zeros_like(r), r));
}
MLUX_BINARY("power", power)
MLUX_BINARY("maximum", maximum)
MLUX_BINARY("minimum", minimum)
MLUX_BINARY("arctan2", arctan2)
MLUX_BINARY("logaddexp", logaddexp)
MLUX_BINARY("equal", equal)
MLUX_BINARY("notEqual", not_equal)
MLUX_BINARY("less", less)
MLUX_BINARY("lessEqual", less_equal)
MLUX_BINARY("greater", greater)
MLUX_BINARY("greaterEqual", greater_equal)
MLUX_BINARY("logicalAnd", logical_and)
MLUX_BINARY("logicalOr", logical_or)
MLUX_BINARY("bitwiseAnd", bitwise_and)
MLUX_BINARY("bitwiseOr", bitwise_or)
MLUX_BINARY("bitwiseXor", bitwise_xor)
MLUX_BINARY("leftShift", left_shift)
MLUX_BINARY("rightShift", right_shift)

// round(a, decimals)
MLUX_FN("round", Round) { return Wrap(info.Env(), mx::round(ArrayArg(info, 0), IntArg(info, 1, "decimals"))); }

// where(condition, x, y): x and y may be scalars; a scalar takes the other branch's dtype.
MLUX_FN("where", Where) {
  auto [x, y] = OperandPair(info, 1);
  return Wrap(info.Env(), mx::where(ArrayArg(info, 0), x, y));
}

// clip(a, min?, max?): a bound may be null (none), a number or an Array.
MLUX_FN("clip", Clip) {
  mx::array a = ArrayArg(info, 0);
  std::optional<mx::array> lo, hi;
  if (!IsMissing(info, 1)) lo = ArrayArg(info, 1, &a);
  if (!IsMissing(info, 2)) hi = ArrayArg(info, 2, &a);
  if (!lo && !hi) throw std::invalid_argument("clip needs a lower bound, an upper bound, or both");
  return Wrap(info.Env(), mx::clip(a, lo, hi));
}

// isclose / allclose(a, b, rtol, atol, equalNan)
MLUX_FN("isclose", IsClose) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::isclose(a, b, NumberArg(info, 2, "rtol"), NumberArg(info, 3, "atol"), BoolArg(info, 4, false)));
}

MLUX_FN("allclose", AllClose) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::allclose(a, b, NumberArg(info, 2, "rtol"), NumberArg(info, 3, "atol"), BoolArg(info, 4, false)));
}

MLUX_FN("arrayEqual", ArrayEqual) {
  auto [a, b] = OperandPair(info, 0);
  return Wrap(info.Env(), mx::array_equal(a, b, BoolArg(info, 2, false)));
}

// nanToNum(a, nan, posinf?, neginf?)
MLUX_FN("nanToNum", NanToNum) {
  auto posinf = OptionalNumberArg(info, 2, "posinf");
  auto neginf = OptionalNumberArg(info, 3, "neginf");
  return Wrap(info.Env(), mx::nan_to_num(ArrayArg(info, 0), static_cast<float>(NumberArg(info, 1, "nan")),
                                         posinf ? std::optional<float>(*posinf) : std::nullopt,
                                         neginf ? std::optional<float>(*neginf) : std::nullopt));
}

}  // namespace mlux
