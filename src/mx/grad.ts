// Automatic differentiation of functions of Arrays: grad, valueAndGrad, vjp, jvp.
//
// MLX traces the function: the addon calls it back synchronously with tracer Arrays, and what it
// returns is differentiated. Each transform runs inside mx.tidy(), so the tracers and every Array
// the function makes are disposed when the transform returns (the graph MLX keeps holds what it
// needs); only the results survive. Wrap an Array in mx.keep() inside the function to retain it.
import { MxArray, wrapAll } from "./array.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { describe, handles } from "./operand.ts";
import { tidy } from "./scope.ts";

const n = nativeFunctions("jvp", "valueAndGrad", "vjp");

/** Arrays, or plain lists and objects holding Arrays (like Python's trees of arrays). */
export type ArrayTree = MxArray | readonly ArrayTree[] | { readonly [key: string]: ArrayTree };

/** What a differentiated function returns: one Array, or a list whose first entry is differentiated. */
export type FunctionOutput = MxArray | MxArray[];

// biome-ignore lint/suspicious/noExplicitAny: the differentiated function's arguments may be anything.
type AnyFunction = (...args: any[]) => FunctionOutput;

/** The gradients for `argnums` N of a function with parameters P: each shaped like its argument. */
export type GradsOf<P extends unknown[], N> = N extends number ? P[N] : { -readonly [K in keyof N]: P[N[K] & number] };

export interface ArgnumsOption<N> {
  /** Which positional arguments to differentiate with respect to (default 0); a list gives a list. */
  argnums?: N;
}

/**
 * The gradient of `fn` (whose first output must be a scalar) with respect to the arguments at
 * `argnums`, as a function of the same arguments: mx.grad(x => sum(x * x))(a) is 2a. An argument
 * may be a tree of Arrays (lists, plain objects); its gradient has the same structure.
 */
export function grad<F extends AnyFunction, const N extends number | readonly number[] = 0>(
  fn: F,
  options: ArgnumsOption<N> = {},
): (...args: Parameters<F>) => GradsOf<Parameters<F>, N> {
  checkFunction(fn, "grad");
  const argnums = options.argnums ?? 0;
  return (...args) => {
    const { value, grads } = differentiate(fn, argnums, args);
    for (const a of Array.isArray(value) ? value : [value]) a.dispose();
    return grads as GradsOf<Parameters<F>, N>;
  };
}

/** Like grad(), but the function returns [fn's own result, the gradients]. */
export function valueAndGrad<F extends AnyFunction, const N extends number | readonly number[] = 0>(
  fn: F,
  options: ArgnumsOption<N> = {},
): (...args: Parameters<F>) => [ReturnType<F>, GradsOf<Parameters<F>, N>] {
  checkFunction(fn, "valueAndGrad");
  const argnums = options.argnums ?? 0;
  return (...args) => {
    const { value, grads } = differentiate(fn, argnums, args);
    return [value as ReturnType<F>, grads as GradsOf<Parameters<F>, N>];
  };
}

/**
 * The outputs of fn(...primals) and the vector-Jacobian products: the cotangents (one per output,
 * same shapes) pulled back to one array per primal.
 */
export function vjp(
  fn: (...primals: MxArray[]) => FunctionOutput,
  primals: readonly MxArray[],
  cotangents: readonly MxArray[],
): { outputs: MxArray[]; vjps: MxArray[] } {
  checkFunction(fn, "vjp");
  const primalHandles = handles(primals);
  const cotangentHandles = handles(cotangents);
  return tidy(() => {
    const [outputs, vjps] = acrossAddon(() => n.vjp(tracing(fn, "vjp"), primalHandles, cotangentHandles)) as [
      Handle[],
      Handle[],
    ];
    return { outputs: wrapAll(outputs), vjps: wrapAll(vjps) };
  });
}

/**
 * The outputs of fn(...primals) and the Jacobian-vector products: the tangents (one per primal,
 * same shapes) pushed forward to one array per output.
 */
export function jvp(
  fn: (...primals: MxArray[]) => FunctionOutput,
  primals: readonly MxArray[],
  tangents: readonly MxArray[],
): { outputs: MxArray[]; jvps: MxArray[] } {
  checkFunction(fn, "jvp");
  const primalHandles = handles(primals);
  const tangentHandles = handles(tangents);
  return tidy(() => {
    const [outputs, jvps] = acrossAddon(() => n.jvp(tracing(fn, "jvp"), primalHandles, tangentHandles)) as [
      Handle[],
      Handle[],
    ];
    return { outputs: wrapAll(outputs), jvps: wrapAll(jvps) };
  });
}

function checkFunction(fn: unknown, transform: string): void {
  if (typeof fn !== "function") throw new TypeError(`mx.${transform} needs a function, got ${describe(fn)}`);
}

// The callback the addon calls: tracer handles in, fn's output handles back.
function tracing(fn: (...args: MxArray[]) => FunctionOutput, transform: string): (tracers: Handle[]) => Handle[] {
  return boxingThrows((tracers) => outputHandles(fn(...wrapAll(tracers)), transform));
}

// What a traced function throws crosses the addon in a box and comes out as it was thrown: the
// addon's errors keep the thrown value in a Node-API reference, which (under NAPI_EXPERIMENTAL,
// see binding.gyp) holds undefined or null but cannot then be read back as an error.
class Thrown {
  constructor(readonly value: unknown) {}
}

function boxingThrows<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      throw new Thrown(error);
    }
  };
}

function acrossAddon<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw error instanceof Thrown ? error.value : error;
  }
}

function outputHandles(out: unknown, transform: string): Handle[] {
  if (out instanceof MxArray) return [out.handle];
  if (Array.isArray(out) && out.length > 0 && out.every((a) => a instanceof MxArray)) {
    return out.map((a: MxArray) => a.handle);
  }
  throw new TypeError(
    `the function given to mx.${transform} must return an Array or a non-empty list of Arrays, got ${describe(out)}`,
  );
}

function differentiate(
  fn: AnyFunction,
  argnums: number | readonly number[],
  args: unknown[],
): { value: FunctionOutput; grads: unknown } {
  const single = typeof argnums === "number";
  const positions = normalizeArgnums(single ? [argnums] : argnums, args.length);
  const trees = positions.map((p) => args[p]);
  const leaves: MxArray[] = [];
  for (const [i, tree] of trees.entries()) flattenTree(tree, leaves, `argument ${positions[i]}`);
  if (leaves.length === 0) throw new Error("mx.grad: the differentiated arguments hold no Arrays");
  let returnedList = false;
  const callback = boxingThrows((tracers: Handle[]): Handle[] => {
    const traced = wrapAll(tracers);
    const callArgs = args.slice();
    const cursor = { next: 0 };
    for (const [i, p] of positions.entries()) callArgs[p] = rebuildTree(trees[i], traced, cursor);
    const out = fn(...callArgs);
    returnedList = Array.isArray(out);
    return outputHandles(out, "grad");
  });
  const { values, grads } = tidy(() => {
    const [valueHandles, gradHandles] = acrossAddon(() =>
      n.valueAndGrad(
        callback,
        leaves.map((a) => a.handle),
        leaves.map((_, i) => i),
      ),
    ) as [Handle[], Handle[]];
    return { values: wrapAll(valueHandles), grads: wrapAll(gradHandles) };
  });
  const cursor = { next: 0 };
  const gradTrees = trees.map((tree) => rebuildTree(tree, grads, cursor));
  return { value: returnedList ? values : (values[0] as MxArray), grads: single ? gradTrees[0] : gradTrees };
}

function normalizeArgnums(argnums: readonly number[], count: number): number[] {
  if (!Array.isArray(argnums) || argnums.length === 0) {
    throw new TypeError(`argnums must be an integer or a non-empty list of integers, got ${describe(argnums)}`);
  }
  const seen = new Set<number>();
  return argnums.map((a) => {
    if (!Number.isInteger(a)) throw new TypeError(`argnums must hold integers, got ${describe(a)}`);
    const p = a < 0 ? a + count : a;
    if (p < 0 || p >= count) {
      throw new RangeError(`argnums ${a} is out of range: the function was called with ${count} arguments`);
    }
    if (seen.has(p)) throw new Error(`argnums lists argument ${a} twice`);
    seen.add(p);
    return p;
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Collects the Arrays of a tree in a fixed order (list order, then object key order).
function flattenTree(tree: unknown, into: MxArray[], path: string): void {
  if (tree instanceof MxArray) {
    into.push(tree);
  } else if (Array.isArray(tree)) {
    for (const [i, child] of tree.entries()) flattenTree(child, into, `${path}[${i}]`);
  } else if (isPlainObject(tree)) {
    for (const [key, child] of Object.entries(tree)) flattenTree(child, into, `${path}.${key}`);
  } else {
    throw new TypeError(
      `${path} is differentiated, so it must be an Array or a list/object of Arrays, but it is ${describe(tree)}`,
    );
  }
}

// The tree with its Arrays replaced, in flattenTree's order, by leaves[cursor.next++].
function rebuildTree(tree: unknown, leaves: MxArray[], cursor: { next: number }): unknown {
  if (tree instanceof MxArray) return leaves[cursor.next++];
  if (Array.isArray(tree)) return tree.map((child) => rebuildTree(child, leaves, cursor));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(tree as Record<string, unknown>)) {
    out[key] = rebuildTree(child, leaves, cursor);
  }
  return out;
}
