// Reductions (sum, mean, ..., argmax), softmax, cumulative scans, sorting and selection.
#include "mlux.h"

namespace mlux {

namespace {

// Reductions over axes take (a, axes, keepdims): axes undefined/null means every axis.
template <typename AllFn, typename AxesFn>
Napi::Value ReduceOverAxes(const Napi::CallbackInfo& info, AllFn all, AxesFn over) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  bool keepdims = BoolArg(info, 2, false);
  return Wrap(info.Env(), axes ? over(a, *axes, keepdims) : all(a, keepdims));
}

}  // namespace

#define MLUX_REDUCE(js_name, op)                                                                       \
  MLUX_FN(js_name, Reduce_##op) {                                                                       \
    return ReduceOverAxes(                                                                              \
        info, [](const mx::array& a, bool k) { return mx::op(a, k); },                                  \
        [](const mx::array& a, const std::vector<int>& axes, bool k) { return mx::op(a, axes, k); });   \
  }

MLUX_REDUCE("sum", sum)
MLUX_REDUCE("mean", mean)
MLUX_REDUCE("prod", prod)
MLUX_REDUCE("max", max)
MLUX_REDUCE("min", min)
MLUX_REDUCE("all", all)
MLUX_REDUCE("any", any)
MLUX_REDUCE("logsumexp", logsumexp)
MLUX_REDUCE("median", median)
MLUX_REDUCE("countNonzero", count_nonzero)

// minmax(a, axes, keepdims): [min, max] in one call.
MLUX_FN("minmax", Minmax) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  bool keepdims = BoolArg(info, 2, false);
  auto [lo, hi] = axes ? mx::minmax(a, *axes, keepdims) : mx::minmax(a, keepdims);
  return WrapAll(info.Env(), {lo, hi});
}

// var / std (a, axes, keepdims, ddof)
MLUX_FN("var", Var) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  bool keepdims = BoolArg(info, 2, false);
  int ddof = IntArg(info, 3, "ddof");
  return Wrap(info.Env(), axes ? mx::var(a, *axes, keepdims, ddof) : mx::var(a, keepdims, ddof));
}

MLUX_FN("std", Std) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  bool keepdims = BoolArg(info, 2, false);
  int ddof = IntArg(info, 3, "ddof");
  return Wrap(info.Env(), axes ? mx::std(a, *axes, keepdims, ddof) : mx::std(a, keepdims, ddof));
}

// argmax / argmin (a, axis?, keepdims): without an axis, the index into the flattened array.
MLUX_FN("argmax", Argmax) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  bool keepdims = BoolArg(info, 2, false);
  return Wrap(info.Env(), axis ? mx::argmax(a, *axis, keepdims) : mx::argmax(a, keepdims));
}

MLUX_FN("argmin", Argmin) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  bool keepdims = BoolArg(info, 2, false);
  return Wrap(info.Env(), axis ? mx::argmin(a, *axis, keepdims) : mx::argmin(a, keepdims));
}

// softmax(a, axes?, precise): without axes, over every axis.
MLUX_FN("softmax", Softmax) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  bool precise = BoolArg(info, 2, false);
  return Wrap(info.Env(), axes ? mx::softmax(a, *axes, precise) : mx::softmax(a, precise));
}

// Scans take (a, axis?, reverse, inclusive): without an axis, over the flattened array.
#define MLUX_SCAN(js_name, op)                                                                 \
  MLUX_FN(js_name, Scan_##op) {                                                                 \
    mx::array a = ArrayArg(info, 0);                                                            \
    auto axis = OptionalIntArg(info, 1, "axis");                                                \
    bool reverse = BoolArg(info, 2, false);                                                     \
    bool inclusive = BoolArg(info, 3, true);                                                    \
    return Wrap(info.Env(), axis ? mx::op(a, *axis, reverse, inclusive) : mx::op(a, reverse, inclusive)); \
  }

MLUX_SCAN("cummax", cummax)
MLUX_SCAN("cummin", cummin)
MLUX_SCAN("logcumsumexp", logcumsumexp)

// cumsum / cumprod (a, axis?, reverse, inclusive, dtype?): dtype is the accumulation and output type.
MLUX_FN("cumsum", Cumsum) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  bool reverse = BoolArg(info, 2, false);
  bool inclusive = BoolArg(info, 3, true);
  auto dtype = OptionalDtypeArg(info, 4);
  return Wrap(info.Env(),
              axis ? mx::cumsum(a, *axis, reverse, inclusive, dtype) : mx::cumsum(a, reverse, inclusive, dtype));
}

MLUX_FN("cumprod", Cumprod) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  bool reverse = BoolArg(info, 2, false);
  bool inclusive = BoolArg(info, 3, true);
  auto dtype = OptionalDtypeArg(info, 4);
  return Wrap(info.Env(),
              axis ? mx::cumprod(a, *axis, reverse, inclusive, dtype) : mx::cumprod(a, reverse, inclusive, dtype));
}

// sort / argsort (a, axis?): a null axis sorts the flattened array.
MLUX_FN("sort", Sort) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  return Wrap(info.Env(), axis ? mx::sort(a, *axis) : mx::sort(a));
}

MLUX_FN("argsort", Argsort) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 1, "axis");
  return Wrap(info.Env(), axis ? mx::argsort(a, *axis) : mx::argsort(a));
}

// partition / argpartition (a, kth, axis?)
MLUX_FN("partition", Partition) {
  mx::array a = ArrayArg(info, 0);
  int kth = IntArg(info, 1, "kth");
  auto axis = OptionalIntArg(info, 2, "axis");
  return Wrap(info.Env(), axis ? mx::partition(a, kth, *axis) : mx::partition(a, kth));
}

MLUX_FN("argpartition", Argpartition) {
  mx::array a = ArrayArg(info, 0);
  int kth = IntArg(info, 1, "kth");
  auto axis = OptionalIntArg(info, 2, "axis");
  return Wrap(info.Env(), axis ? mx::argpartition(a, kth, *axis) : mx::argpartition(a, kth));
}

// topk(a, k, axis?): the k largest, in no particular order.
MLUX_FN("topk", Topk) {
  mx::array a = ArrayArg(info, 0);
  int k = IntArg(info, 1, "k");
  auto axis = OptionalIntArg(info, 2, "axis");
  return Wrap(info.Env(), axis ? mx::topk(a, k, *axis) : mx::topk(a, k));
}

// searchsorted(sortedSequence, values, side): insertion points ("left" or "right") into a 1-D
// ascending array.
MLUX_FN("searchsorted", Searchsorted) {
  return Wrap(info.Env(), mx::searchsorted(ArrayArg(info, 0), ArrayArg(info, 1), StringArg(info, 2, "side")));
}

// unique(a, size, returnIndex, returnInverse, returnCounts, fillValue?): the sorted unique values
// of the flattened array, padded or cut to `size`, then the requested extras in that order.
MLUX_FN("unique", Unique) {
  mx::array a = ArrayArg(info, 0);
  int size = IntArg(info, 1, "size");
  std::optional<mx::array> fill;
  if (!IsMissing(info, 5)) fill = ArrayArg(info, 5, &a);
  return WrapAll(info.Env(), mx::unique(a, size, BoolArg(info, 2, false), BoolArg(info, 3, false),
                                        BoolArg(info, 4, false), fill));
}

}  // namespace mlux
