// Shape manipulation: reshape, transpose, joining, splitting, repeating, padding.
#include "mlux.h"

namespace mlux {

MLUX_FN("reshape", Reshape) { return Wrap(info.Env(), mx::reshape(ArrayArg(info, 0), ShapeArg(info, 1, "shape"))); }

// transpose(a, axes?)
MLUX_FN("transpose", Transpose) {
  mx::array a = ArrayArg(info, 0);
  if (IsMissing(info, 1)) return Wrap(info.Env(), mx::transpose(a));
  return Wrap(info.Env(), mx::transpose(a, IntListArg(info, 1, "axes")));
}

MLUX_FN("swapaxes", Swapaxes) {
  return Wrap(info.Env(), mx::swapaxes(ArrayArg(info, 0), IntArg(info, 1, "axis1"), IntArg(info, 2, "axis2")));
}

MLUX_FN("moveaxis", Moveaxis) {
  return Wrap(info.Env(),
              mx::moveaxis(ArrayArg(info, 0), IntArg(info, 1, "source"), IntArg(info, 2, "destination")));
}

MLUX_FN("expandDims", ExpandDims) {
  return Wrap(info.Env(), mx::expand_dims(ArrayArg(info, 0), IntListArg(info, 1, "axis")));
}

// squeeze(a, axes?): without axes, every size-1 axis.
MLUX_FN("squeeze", Squeeze) {
  mx::array a = ArrayArg(info, 0);
  auto axes = AxesArg(info, 1);
  return Wrap(info.Env(), axes ? mx::squeeze(a, *axes) : mx::squeeze(a));
}

// flatten(a, startAxis, endAxis)
MLUX_FN("flatten", Flatten) {
  return Wrap(info.Env(),
              mx::flatten(ArrayArg(info, 0), IntArg(info, 1, "startAxis"), IntArg(info, 2, "endAxis")));
}

MLUX_FN("unflatten", Unflatten) {
  return Wrap(info.Env(), mx::unflatten(ArrayArg(info, 0), IntArg(info, 1, "axis"), ShapeArg(info, 2, "shape")));
}

MLUX_FN("concatenate", Concatenate) {
  return Wrap(info.Env(), mx::concatenate(ArrayListArg(info, 0), IntArg(info, 1, "axis")));
}

MLUX_FN("stack", Stack) { return Wrap(info.Env(), mx::stack(ArrayListArg(info, 0), IntArg(info, 1, "axis"))); }

MLUX_FN("unstack", Unstack) { return WrapAll(info.Env(), mx::unstack(ArrayArg(info, 0), IntArg(info, 1, "axis"))); }

// split(a, sections: number | number[], axis): a count of equal parts, or the split indices.
MLUX_FN("split", Split) {
  mx::array a = ArrayArg(info, 0);
  int axis = IntArg(info, 2, "axis");
  if (info[1].IsNumber()) return WrapAll(info.Env(), mx::split(a, IntArg(info, 1, "sections"), axis));
  return WrapAll(info.Env(), mx::split(a, ShapeArg(info, 1, "indices"), axis));
}

// repeat(a, repeats, axis?): without an axis, over the flattened array.
MLUX_FN("repeat", Repeat) {
  mx::array a = ArrayArg(info, 0);
  int repeats = IntArg(info, 1, "repeats");
  auto axis = OptionalIntArg(info, 2, "axis");
  return Wrap(info.Env(), axis ? mx::repeat(a, repeats, *axis) : mx::repeat(a, repeats));
}

MLUX_FN("tile", Tile) { return Wrap(info.Env(), mx::tile(ArrayArg(info, 0), IntListArg(info, 1, "reps"))); }

MLUX_FN("broadcastTo", BroadcastTo) {
  return Wrap(info.Env(), mx::broadcast_to(ArrayArg(info, 0), ShapeArg(info, 1, "shape")));
}

MLUX_FN("broadcastArrays", BroadcastArrays) {
  return WrapAll(info.Env(), mx::broadcast_arrays(ArrayListArg(info, 0)));
}

// pad(a, axes, low, high, value, mode): mode "constant" or "edge".
MLUX_FN("pad", Pad) {
  mx::array a = ArrayArg(info, 0);
  auto axes = IntListArg(info, 1, "axes");
  auto low = ShapeArg(info, 2, "low padding");
  auto high = ShapeArg(info, 3, "high padding");
  mx::array value = ArrayArg(info, 4, &a);
  return Wrap(info.Env(), mx::pad(a, axes, low, high, value, StringArg(info, 5, "mode")));
}

MLUX_FN("flip", Flip) { return Wrap(info.Env(), mx::flip(ArrayArg(info, 0), IntListArg(info, 1, "axis"))); }

MLUX_FN("atleast1d", Atleast1d) { return Wrap(info.Env(), mx::atleast_1d(ArrayArg(info, 0))); }
MLUX_FN("atleast2d", Atleast2d) { return Wrap(info.Env(), mx::atleast_2d(ArrayArg(info, 0))); }
MLUX_FN("atleast3d", Atleast3d) { return Wrap(info.Env(), mx::atleast_3d(ArrayArg(info, 0))); }

}  // namespace mlux
