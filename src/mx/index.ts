// The mlux array API: camelCase counterparts of mlx.core. Import as `import { mx } from "mlux"`.
export { type Complex, MxArray as Array, type NestedList, type Scalar } from "./array.ts";

import "./array-methods.ts";

export * from "./conv.ts";
export { type CausalSoftmaxOptions, cpuKernels } from "./cpu-kernels.ts";
export * from "./creation.ts";
export { type Device, defaultDevice, isAvailable, setDefaultDevice, synchronize } from "./device.ts";
export {
  type AnyTypedArray,
  bfloat16,
  bool,
  complex64,
  DTYPES,
  type DType,
  float16,
  float32,
  float64,
  int8,
  int16,
  int32,
  int64,
  type TypedArrayOf,
  uint8,
  uint16,
  uint32,
  uint64,
} from "./dtype.ts";
export * from "./elementwise.ts";
export * from "./fast.ts";
export { type ArrayTree, grad, jvp, valueAndGrad, vjp } from "./grad.ts";
export * from "./indexing.ts";
export { loadSafetensors, type Safetensors, saveSafetensors } from "./io.ts";
export * from "./linalg.ts";
export { memory } from "./memory.ts";
export type { Operand } from "./operand.ts";
export * from "./quantize.ts";
export { type Key as RandomKey, random } from "./random.ts";
export * from "./reduce.ts";
export { asyncEval, evaluate as eval, exportToDot, liveArrays, runtimeInfo, scheduleEval } from "./runtime.ts";
export { keep, tidy } from "./scope.ts";
export * from "./shape.ts";
export { argtopk } from "./top-k.ts";
