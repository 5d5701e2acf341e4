// How TypeScript values reach the addon as array operands.
import { MxArray } from "./array.ts";
import type { NativeOperand } from "./native.ts";

/**
 * What an op accepts where it needs an array: an Array, or a JS number or boolean. A number next
 * to an array takes that array's dtype where it keeps its meaning (a float scalar with an int
 * array gives float32), as Python MLX treats Python scalars. Note that JS cannot tell 2 from 2.0:
 * an integer-valued number with an int array stays an int.
 */
export type Operand = MxArray | number | boolean;

/** @internal */
export function operand(x: Operand): NativeOperand {
  if (x instanceof MxArray) return x.handle;
  if (typeof x === "number") return [x]; // boxed: a bare number is a handle
  if (typeof x === "boolean") return x;
  throw new TypeError(`expected an mx Array, a number or a boolean, got ${describe(x)}`);
}

/** @internal */
export function handles(arrays: readonly MxArray[]): NativeOperand[] {
  if (!Array.isArray(arrays)) throw new TypeError(`expected a list of mx Arrays, got ${describe(arrays)}`);
  return arrays.map((a, i) => {
    if (!(a instanceof MxArray)) throw new TypeError(`element ${i} of the list is not an mx Array: ${describe(a)}`);
    return a.handle;
  });
}

/** @internal A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "a JS array";
  if (typeof x === "object") return `an object (${(x as object).constructor?.name ?? "Object"})`;
  return `${typeof x} ${String(x)}`;
}
