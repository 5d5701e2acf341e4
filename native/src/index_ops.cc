// Indexing: NumPy-style a[...] reads and functional updates (a.at[...]), take, take/put along an
// axis, static and dynamic slices.
//
// An index list arrives from src/mx/indexing.ts with the ellipsis already expanded. Each entry is
// an integer boxed as [i] (a bare number is an Array handle), null (a new axis of size 1), a
// [start, stop, step] triple (a slice; any part may be null), or an Array of integer positions. TypeScript checks array positions against the
// axis size (that needs their values); here every other entry is checked again, since MLX reads
// out of bounds (or divides by a zero step) on bad indices instead of throwing.
#include <cmath>
#include <numeric>

#include "mlux.h"

namespace mlux {

namespace {

struct Entry {
  enum Kind { kInt, kSlice, kNewAxis, kArray } kind = kNewAxis;
  int axis = -1;  // the source axis it consumes (none for a new axis)
  int index = 0;  // kInt: the position, made non-negative
  // kSlice: MLX slice arguments, and the number of elements selected.
  int start = 0, stop = 0, step = 1, length = 0;
  std::optional<mx::array> positions;  // kArray
};

std::string AxisText(int axis, int size) {
  return "axis " + std::to_string(axis) + " with size " + std::to_string(size);
}

// Python/NumPy slice semantics, turned into arguments that mx::slice reads the same way.
void ResolveSlice(Entry& e, std::optional<int> start, std::optional<int> stop, int step, int size) {
  if (step == 0) throw std::invalid_argument("slice step cannot be zero (" + AxisText(e.axis, size) + ")");
  auto clamp = [](long v, long lo, long hi) { return v < lo ? lo : (v > hi ? hi : v); };
  long first, end;
  if (step > 0) {
    first = start ? clamp(*start < 0 ? long(*start) + size : *start, 0, size) : 0;
    end = stop ? clamp(*stop < 0 ? long(*stop) + size : *stop, 0, size) : size;
    e.length = end > first ? int((end - first + step - 1) / step) : 0;
  } else {
    first = start ? clamp(*start < 0 ? long(*start) + size : *start, -1, size - 1) : size - 1;
    end = stop ? clamp(*stop < 0 ? long(*stop) + size : *stop, -1, size - 1) : -1;
    e.length = first > end ? int((first - end - step - 1) / -step) : 0;
  }
  if (e.length == 0) {
    e.start = 0, e.stop = 0, e.step = 1;
    return;
  }
  e.step = step;
  e.start = int(first);
  long last_plus = first + long(step) * e.length;
  // mx::slice adds the axis size to a negative stop; -size-1 stands for "before position 0".
  e.stop = last_plus < 0 ? -size - 1 : int(last_plus);
}

// Plain Node-API calls, one per question (node-addon-api's wrappers ask two or three): an index
// list is read at every a[...] and a.at[...].
napi_valuetype TypeOf(napi_env env, napi_value v) {
  napi_valuetype type = napi_undefined;
  NAPI_THROW_IF_FAILED(env, napi_typeof(env, v, &type), napi_undefined);
  return type;
}

napi_value Element(napi_env env, napi_value list, uint32_t k) {
  napi_value v = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_element(env, list, k, &v), nullptr);
  return v;
}

// The length of a JS array, or nullopt for anything else.
std::optional<uint32_t> ArrayLength(napi_env env, napi_value v) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return std::nullopt;
  NAPI_THROW_IF_FAILED(env, napi_get_array_length(env, v, &length), std::nullopt);
  return length;
}

// A number, or NaN for anything else.
double NumberOrNaN(napi_env env, napi_value v) {
  double d;
  return napi_get_value_double(env, v, &d) == napi_ok ? d : NAN;
}

std::optional<int> OptionalSliceBound(napi_env env, napi_value v, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    napi_valuetype type = TypeOf(env, v);
    if (type == napi_undefined || type == napi_null) return std::nullopt;
    d = NAN;
  }
  if (!(std::trunc(d) == d) || d < -2147483648.0 || d > 2147483647.0) {
    throw Napi::TypeError::New(env, std::string("slice ") + what + " must be an integer or null");
  }
  return int(d);
}

// Reads the index list for array `a`; appends full slices for axes the list leaves out.
std::vector<Entry> ReadEntries(const Napi::CallbackInfo& info, size_t i, const mx::array& a) {
  napi_env env = info.Env();
  auto length = i < info.Length() ? ArrayLength(env, info[i]) : std::nullopt;
  if (!length) throw Napi::TypeError::New(env, "expected a list of indices");
  napi_value list = info[i];
  std::vector<Entry> out;
  int axis = 0;
  int ndim = int(a.ndim());
  for (uint32_t k = 0; k < *length; ++k) {
    napi_value v = Element(env, list, k);
    napi_valuetype type = TypeOf(env, v);
    Entry e;
    if (type == napi_undefined || type == napi_null) {
      out.push_back(std::move(e));
      continue;
    }
    if (axis >= ndim) {
      throw std::out_of_range("too many indices for an array with " + std::to_string(ndim) + " dimensions");
    }
    e.axis = axis++;
    int size = a.shape(e.axis);
    auto parts = type == napi_object ? ArrayLength(env, v) : std::nullopt;
    if (parts == 1u) {
      double d = NumberOrNaN(env, Element(env, v, 0));
      if (!(std::trunc(d) == d) || d < -size || d >= size) {
        throw std::out_of_range("index " + std::to_string(d) + " is out of range for " + AxisText(e.axis, size));
      }
      e.kind = Entry::kInt;
      e.index = int(d < 0 ? d + size : d);
    } else if (type == napi_number) {
      mx::array p = *UnwrapIfHandle(env, v);
      if (p.dtype() == mx::bool_) {
        throw Napi::TypeError::New(env, "boolean mask indices are not supported; index with integer positions");
      }
      if (!mx::issubdtype(p.dtype(), mx::integer)) {
        throw Napi::TypeError::New(env, "index arrays must hold integers");
      }
      e.kind = Entry::kArray;
      // One index dtype for gather/scatter (positions fit: they are below an axis size); negative
      // positions count from the end, as in NumPy.
      p = mx::astype(p, mx::int32);
      e.positions = mx::where(mx::less(p, mx::array(0)), mx::add(p, mx::array(size)), p);
    } else if (parts == 3u) {
      auto step = OptionalSliceBound(env, Element(env, v, 2), "step");
      e.kind = Entry::kSlice;
      ResolveSlice(e, OptionalSliceBound(env, Element(env, v, 0), "start"),
                   OptionalSliceBound(env, Element(env, v, 1), "stop"), step.value_or(1), size);
    } else {
      throw Napi::TypeError::New(env, "an index must be [integer], null, a slice triple or an Array");
    }
    out.push_back(std::move(e));
  }
  for (; axis < ndim; ++axis) {
    Entry e;
    e.kind = Entry::kSlice;
    e.axis = axis;
    ResolveSlice(e, std::nullopt, std::nullopt, 1, a.shape(axis));
    out.push_back(std::move(e));
  }
  return out;
}

// How an index list maps the source onto the result.
struct Plan {
  std::vector<Entry> entries;
  bool advanced = false;      // any Array entry: integers then act as 0-d arrays too
  bool gather_first = false;  // advanced entries are split by others: their dims lead the result
  mx::Shape start, stop, strides;  // the basic slice of the source (advanced axes kept whole)
  mx::Shape region;                // the shape of that slice
  bool whole = true;               // the slice is all of the source, in order
  std::vector<int> advanced_axes;
  std::vector<mx::array> advanced_positions;
  mx::Shape broadcast;  // the common shape of the advanced positions
  int slices_before = 0;  // slice entries before the first advanced entry
};

bool IsAdvanced(const Plan& p, const Entry& e) {
  return e.kind == Entry::kArray || (p.advanced && e.kind == Entry::kInt);
}

Plan MakePlan(const Napi::CallbackInfo& info, size_t i, const mx::array& a) {
  Plan p;
  p.entries = ReadEntries(info, i, a);
  for (auto& e : p.entries) p.advanced |= e.kind == Entry::kArray;
  p.start = mx::Shape(a.ndim(), 0);
  p.stop = a.shape();
  p.strides = mx::Shape(a.ndim(), 1);
  p.region = a.shape();
  int first = -1, last = -1;
  for (int k = 0; k < int(p.entries.size()); ++k) {
    const Entry& e = p.entries[k];
    if (e.kind == Entry::kSlice) {
      p.start[e.axis] = e.start, p.stop[e.axis] = e.stop, p.strides[e.axis] = e.step;
      p.region[e.axis] = e.length;
    } else if (e.kind == Entry::kInt && !p.advanced) {
      p.start[e.axis] = e.index, p.stop[e.axis] = e.index + 1;
      p.region[e.axis] = 1;
    }
    if (IsAdvanced(p, e)) {
      if (first < 0) first = k;
      last = k;
      p.advanced_axes.push_back(e.axis);
      p.advanced_positions.push_back(e.kind == Entry::kArray ? *e.positions : mx::array(e.index, mx::int32));
      p.broadcast = mx::broadcast_shapes(p.broadcast, p.advanced_positions.back().shape());
    }
  }
  for (size_t d = 0; d < a.ndim(); ++d) {
    p.whole &= p.start[d] == 0 && p.stop[d] == a.shape(d) && p.strides[d] == 1;
  }
  for (int k = first + 1; k < last; ++k) p.gather_first |= !IsAdvanced(p, p.entries[k]);
  for (int k = 0; k < first; ++k) p.slices_before += p.entries[k].kind == Entry::kSlice;
  return p;
}

// The shape of a[index]: advanced dims (first, or where the advanced entries stand), slice
// lengths and new axes in order, integers (outside advanced indexing) dropped.
mx::Shape ResultShape(const Plan& p) {
  mx::Shape out;
  if (p.gather_first) out = p.broadcast;
  bool placed = p.gather_first;
  for (const Entry& e : p.entries) {
    if (IsAdvanced(p, e)) {
      if (!placed) out.insert(out.end(), p.broadcast.begin(), p.broadcast.end());
      placed = true;
    } else if (e.kind == Entry::kSlice) {
      out.push_back(e.length);
    } else if (e.kind == Entry::kNewAxis) {
      out.push_back(1);
    }
  }
  return out;
}

// The gathered layout without new axes: broadcast dims then the non-advanced region dims.
mx::Shape GatheredShape(const Plan& p) {
  mx::Shape out = p.broadcast;
  for (const Entry& e : p.entries) {
    if (e.kind == Entry::kSlice) out.push_back(e.length);
  }
  return out;
}

// The permutation that moves the broadcast dims after the slices that precede them.
std::vector<int> PlaceAdvancedDims(const Plan& p, int ndim) {
  int nb = int(p.broadcast.size());
  std::vector<int> perm;
  for (int d = 0; d < p.slices_before; ++d) perm.push_back(nb + d);
  for (int d = 0; d < nb; ++d) perm.push_back(d);
  for (int d = nb + p.slices_before; d < ndim; ++d) perm.push_back(d);
  return perm;
}

bool IsIdentity(const std::vector<int>& perm) {
  for (int d = 0; d < int(perm.size()); ++d) {
    if (perm[d] != d) return false;
  }
  return true;
}

mx::array BasicRegion(const mx::array& a, const Plan& p) {
  if (p.whole) return a;
  return mx::slice(a, p.start, p.stop, p.strides);
}

mx::Shape SliceSizes(const Plan& p) {
  mx::Shape sizes = p.region;
  for (int axis : p.advanced_axes) sizes[axis] = 1;
  return sizes;
}

// The updates layout scatter takes: broadcast dims, then the region with advanced axes of size 1.
mx::Shape ScatterShape(const Plan& p) {
  mx::Shape shape = p.broadcast;
  auto sizes = SliceSizes(p);
  shape.insert(shape.end(), sizes.begin(), sizes.end());
  return shape;
}

// The value of an update laid out as the source region: cast to the source dtype, leading size-1
// dims dropped (as MLX does), broadcast to the shape of a[index], then rearranged.
mx::array UpdateForRegion(const mx::array& a, const Plan& p, mx::array value) {
  value = mx::astype(value, a.dtype());
  int lead = 0;
  while (lead < int(value.ndim()) && value.shape(lead) == 1) ++lead;
  if (lead > 0) value = mx::reshape(value, mx::Shape(value.shape().begin() + lead, value.shape().end()));
  value = mx::broadcast_to(value, ResultShape(p));
  if (!p.advanced) return mx::reshape(value, p.region);
  // Undo getItem's steps: drop the new axes, then move the broadcast dims back to the front.
  mx::Shape gathered = GatheredShape(p);
  auto perm = p.gather_first ? std::vector<int>{} : PlaceAdvancedDims(p, int(gathered.size()));
  if (perm.empty() || IsIdentity(perm)) return mx::reshape(value, ScatterShape(p));
  mx::Shape placed;
  for (int d : perm) placed.push_back(gathered[d]);
  std::vector<int> inverse(perm.size());
  for (int d = 0; d < int(perm.size()); ++d) inverse[perm[d]] = d;
  value = mx::transpose(mx::reshape(value, placed), inverse);
  return mx::reshape(value, ScatterShape(p));
}

}  // namespace

// getItem(a, entries): a[entries] with NumPy's basic and advanced indexing rules.
MLUX_FN("getItem", GetItem) {
  mx::array a = ArrayArg(info, 0);
  Plan p = MakePlan(info, 1, a);
  mx::array out = BasicRegion(a, p);
  if (p.advanced) {
    out = mx::gather(out, p.advanced_positions, p.advanced_axes, SliceSizes(p));
    // Drop the size-1 slice dims of the advanced axes: broadcast dims, then the other region dims.
    out = mx::reshape(out, GatheredShape(p));
    if (!p.gather_first) {
      auto perm = PlaceAdvancedDims(p, int(out.ndim()));
      if (!IsIdentity(perm)) out = mx::transpose(out, perm);
    }
  }
  auto shape = ResultShape(p);
  if (shape != out.shape()) out = mx::reshape(out, shape);
  return Wrap(info.Env(), out);
}

// updateItem(a, entries, value, op): a copy of `a` with a[entries] combined with `value`;
// op is "set", "add", "subtract", "multiply", "divide", "maximum" or "minimum".
MLUX_FN("updateItem", UpdateItem) {
  mx::array a = ArrayArg(info, 0);
  Plan p = MakePlan(info, 1, a);
  mx::array value = ArrayArg(info, 2, &a);
  std::string op = StringArg(info, 3, "op");
  mx::array update = UpdateForRegion(a, p, value);
  // Nothing selected: nothing to write (MLX's scatter divides by zero on an empty region).
  if (update.size() == 0) return Wrap(info.Env(), a);
  // As MLX does: subtracting adds the negation, dividing multiplies by the reciprocal.
  if (op == "subtract") {
    update = mx::negative(update);
    op = "add";
  } else if (op == "divide") {
    update = mx::reciprocal(update);
    op = "multiply";
  }
  if (!p.advanced) {
    if (op == "set") return Wrap(info.Env(), mx::slice_update(a, update, p.start, p.stop, p.strides));
    if (op == "add") return Wrap(info.Env(), mx::slice_update_add(a, update, p.start, p.stop, p.strides));
    if (op == "multiply") return Wrap(info.Env(), mx::slice_update_prod(a, update, p.start, p.stop, p.strides));
    if (op == "maximum") return Wrap(info.Env(), mx::slice_update_max(a, update, p.start, p.stop, p.strides));
    if (op == "minimum") return Wrap(info.Env(), mx::slice_update_min(a, update, p.start, p.stop, p.strides));
    throw std::invalid_argument("unknown update op " + op);
  }
  // Scatter into the basic region (advanced axes whole), then write that region back.
  mx::array region = BasicRegion(a, p);
  const auto& positions = p.advanced_positions;
  const auto& axes = p.advanced_axes;
  if (op == "set") {
    region = mx::scatter(region, positions, update, axes);
  } else if (op == "add") {
    region = mx::scatter_add(region, positions, update, axes);
  } else if (op == "multiply") {
    region = mx::scatter_prod(region, positions, update, axes);
  } else if (op == "maximum") {
    region = mx::scatter_max(region, positions, update, axes);
  } else if (op == "minimum") {
    region = mx::scatter_min(region, positions, update, axes);
  } else {
    throw std::invalid_argument("unknown update op " + op);
  }
  if (p.whole) return Wrap(info.Env(), region);
  return Wrap(info.Env(), mx::slice_update(a, region, p.start, p.stop, p.strides));
}

// take(a, indices, axis?): `indices` is an Array or an integer boxed as [i] (checked here).
MLUX_FN("take", Take) {
  mx::array a = ArrayArg(info, 0);
  auto axis = OptionalIntArg(info, 2, "axis");
  if (info[1].IsArray()) {
    auto boxed = info[1].As<Napi::Array>();
    double d = boxed.Length() == 1 && boxed.Get(0u).IsNumber() ? boxed.Get(0u).As<Napi::Number>().DoubleValue() : NAN;
    if (!(std::trunc(d) == d) || std::abs(d) > 2147483647.0) {
      throw Napi::TypeError::New(info.Env(), "[take] an integer index must be boxed as [i]");
    }
    int index = int(d);
    int size = int(a.size());
    if (axis) {
      int ax = *axis < 0 ? *axis + int(a.ndim()) : *axis;
      if (ax < 0 || ax >= int(a.ndim())) {
        throw std::out_of_range("[take] axis " + std::to_string(*axis) + " is out of range for an array with " +
                                std::to_string(a.ndim()) + " dimensions");
      }
      size = a.shape(ax);
    }
    if (index < -size || index >= size) {
      throw std::out_of_range("[take] index " + std::to_string(index) + " is out of range for size " +
                              std::to_string(size));
    }
    if (index < 0) index += size;
    return Wrap(info.Env(), axis ? mx::take(a, index, *axis) : mx::take(a, index));
  }
  mx::array indices = ArrayArg(info, 1);
  return Wrap(info.Env(), axis ? mx::take(a, indices, *axis) : mx::take(a, indices));
}

// takeAlongAxis(a, indices, axis?): without an axis, over the flattened array.
MLUX_FN("takeAlongAxis", TakeAlongAxis) {
  mx::array a = ArrayArg(info, 0);
  mx::array indices = ArrayArg(info, 1);
  auto axis = OptionalIntArg(info, 2, "axis");
  if (!axis) return Wrap(info.Env(), mx::take_along_axis(mx::reshape(a, {-1}), indices, 0));
  return Wrap(info.Env(), mx::take_along_axis(a, indices, *axis));
}

// putAlongAxis(a, indices, values, axis?): without an axis, over the flattened array.
MLUX_FN("putAlongAxis", PutAlongAxis) {
  mx::array a = ArrayArg(info, 0);
  mx::array indices = ArrayArg(info, 1);
  mx::array values = ArrayArg(info, 2, &a);
  auto axis = OptionalIntArg(info, 3, "axis");
  if (!axis) {
    return Wrap(info.Env(),
                mx::reshape(mx::put_along_axis(mx::reshape(a, {-1}), indices, values, 0), a.shape()));
  }
  return Wrap(info.Env(), mx::put_along_axis(a, indices, values, *axis));
}

// stridedSlice(a, start, stop, strides): MLX's static slice (negative bounds count from the end).
MLUX_FN("stridedSlice", StridedSlice) {
  mx::array a = ArrayArg(info, 0);
  auto start = ShapeArg(info, 1, "start");
  auto stop = ShapeArg(info, 2, "stop");
  auto strides = ShapeArg(info, 3, "strides");
  for (auto s : strides) {
    if (s == 0) throw std::invalid_argument("[stridedSlice] strides cannot be zero");
  }
  return Wrap(info.Env(), mx::slice(a, std::move(start), std::move(stop), std::move(strides)));
}

// stridedSliceUpdate(a, update, start, stop, strides)
MLUX_FN("stridedSliceUpdate", StridedSliceUpdate) {
  mx::array a = ArrayArg(info, 0);
  mx::array update = ArrayArg(info, 1, &a);
  auto start = ShapeArg(info, 2, "start");
  auto stop = ShapeArg(info, 3, "stop");
  auto strides = ShapeArg(info, 4, "strides");
  for (auto s : strides) {
    if (s == 0) throw std::invalid_argument("[stridedSliceUpdate] strides cannot be zero");
  }
  return Wrap(info.Env(), mx::slice_update(a, update, std::move(start), std::move(stop), std::move(strides)));
}

// dynamicSlice(a, start, axes, sliceSize): start is an integer Array (one per axis), checked in
// TypeScript to keep the slice inside the array.
MLUX_FN("dynamicSlice", DynamicSlice) {
  mx::array a = ArrayArg(info, 0);
  mx::array start = ArrayArg(info, 1);
  return Wrap(info.Env(), mx::slice(a, start, IntListArg(info, 2, "axes"), ShapeArg(info, 3, "sliceSize")));
}

// dynamicSliceUpdate(a, update, start, axes)
MLUX_FN("dynamicSliceUpdate", DynamicSliceUpdate) {
  mx::array a = ArrayArg(info, 0);
  mx::array update = ArrayArg(info, 1, &a);
  mx::array start = ArrayArg(info, 2);
  return Wrap(info.Env(), mx::slice_update(a, update, start, IntListArg(info, 3, "axes")));
}

}  // namespace mlux
