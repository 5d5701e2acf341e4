// The Array class: an owned reference to one MLX array, with its metadata and data access.
import { inspect } from "node:util";
import { type AnyTypedArray, type DType, dtypeCode, dtypeFromCode, TYPED_ARRAY } from "./dtype.ts";
import { shapeOf } from "./list-slots.ts";
import { type Handle, nativeFunctions } from "./native.ts";
import { setRelease, track } from "./scope.ts";

const n = nativeFunctions(
  "astype",
  "dispose",
  "disposeMany",
  "dtype",
  "freeWhenCollected",
  "nbytes",
  "toBytes",
  "toString",
);

// Registers an array with the garbage-collection backstop (below), once; set by MxArray, which
// keeps the mark.
let watch: (a: MxArray) => boolean;

/** A complex number read out of a complex64 array. */
export interface Complex {
  re: number;
  im: number;
}

/** One element as JavaScript sees it: 64-bit integers are bigint, complex numbers {re, im}. */
export type Scalar = number | boolean | bigint | Complex;

/** Nested JavaScript arrays of scalars, as tolist() returns them. */
export type NestedList = Scalar | NestedList[];

/**
 * An N-dimensional MLX array. Arrays are immutable and lazy: operations build a graph, and data is
 * computed when it is read (item, tolist, toTypedArray) or on eval().
 *
 * Each Array owns native memory. Release it with dispose() (or `using`), or create arrays inside
 * mx.tidy(), which disposes every array made in its callback except those returned. Garbage
 * collection frees forgotten arrays too, but late.
 */
export class MxArray {
  #handle: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  #watched = false;

  static {
    watch = (a) => {
      if (a.#handle === null || a.#watched) return false;
      a.#watched = true;
      n.freeWhenCollected(a, a.#handle);
      return true;
    };
    // A scope's Arrays are freed in one addon call per 1,024 (one call each cost more than many
    // small ops); anything else it owned is disposed as usual.
    const handles = new Float64Array(1024);
    setRelease((owned) => {
      let count = 0;
      for (const a of owned) {
        if (!(a instanceof MxArray)) {
          a.dispose();
          continue;
        }
        if (a.#handle === null) continue;
        if (count === handles.length) count = n.disposeMany(handles, count) as number;
        handles[count++] = a.#handle;
        a.#handle = null;
      }
      if (count === 1) n.dispose(handles[0]);
      else if (count > 1) n.disposeMany(handles, count);
    });
  }

  /** @internal Arrays are made by mx functions, not with `new`. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
    watchForCollection(this);
  }

  /** @internal The native handle; throws if this array was disposed. */
  get handle(): Handle {
    if (this.#handle === null) {
      throw new Error(
        "this Array was disposed; it can no longer be read or used. Arrays made inside a scope are freed when it " +
          "ends: mx.tidy's, and a hook's, whose run frees what the hook made or stashed when the run returns. " +
          "To keep one past its scope, wrap it in mx.keep(...) (then dispose() it yourself), or record it with runWithCache.",
      );
    }
    return this.#handle;
  }

  get shape(): number[] {
    this.#shape ??= shapeOf(this.handle);
    return this.#shape.slice();
  }

  get dtype(): DType {
    this.#dtype ??= dtypeFromCode(n.dtype(this.handle) as number);
    return this.#dtype;
  }

  get ndim(): number {
    this.#shape ??= shapeOf(this.handle);
    return this.#shape.length;
  }

  get size(): number {
    this.#shape ??= shapeOf(this.handle);
    let size = 1;
    for (const d of this.#shape) size *= d;
    return size;
  }

  /** Bytes of this array's data. */
  get nbytes(): number {
    return n.nbytes(this.handle) as number;
  }

  /** Whether dispose() was called. */
  get disposed(): boolean {
    return this.#handle === null;
  }

  /** Releases the native memory now. Later use of this Array throws. Safe to call twice. */
  dispose(): void {
    if (this.#handle === null) return;
    n.dispose(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The data in row-major order, in the typed array of this dtype (see TypedArrayOf: float16 and
   * bfloat16 come as raw 16-bit patterns). By default a copy; with `{ copy: false }` a zero-copy
   * view of MLX's memory where the data is contiguous, which must be treated as read-only.
   */
  toTypedArray(options: { copy?: boolean } = {}): AnyTypedArray {
    const buffer = n.toBytes(this.handle, options.copy ?? true) as ArrayBuffer;
    const Typed = TYPED_ARRAY[this.dtype];
    return new Typed(buffer, 0, buffer.byteLength / Typed.BYTES_PER_ELEMENT);
  }

  /** The value of a one-element array. */
  item(): Scalar {
    if (this.size !== 1) {
      throw new Error(`item() needs an array with one element; this one has shape [${this.shape}]`);
    }
    return readScalars(this)[0] as Scalar;
  }

  /** The data as nested JavaScript arrays (a scalar for a 0-d array). */
  tolist(): NestedList {
    const shape = this.shape;
    requireListable(shape);
    const flat = readScalars(this);
    if (shape.length === 0) return flat[0] as Scalar;
    let offset = 0;
    const build = (dim: number): NestedList[] => {
      const out: NestedList[] = [];
      const length = shape[dim] as number;
      for (let i = 0; i < length; i++) {
        out.push(dim === shape.length - 1 ? (flat[offset++] as Scalar) : build(dim + 1));
      }
      return out;
    };
    return build(0);
  }

  /** MLX's own printout, e.g. `array([1, 2], dtype=int32)`. */
  toString(): string {
    return n.toString(this.handle) as string;
  }

  [inspect.custom](): string {
    return this.#handle === null ? "array(<disposed>)" : this.toString();
  }
}

// The garbage-collection backstop: an Array that JavaScript drops without dispose() is freed when
// the garbage collector collects it. The addon frees it during the collection itself (see
// freeWhenCollected in native/src/handles.cc), so memory comes back also inside a synchronous loop
// that never yields to the event loop. Registering costs more than a small op itself, so new Arrays
// wait in a list (which holds them) and only those still alive a moment later (at the next turn of
// the event loop, or after 1024 more Arrays) are registered. Most intermediates are disposed before then (by tidy or
// dispose) and never pay for it. Disposal needs no unregistering: a disposed handle is stale, and
// the addon leaves stale handles alone.
let young: MxArray[] = [];
let sweepScheduled = false;

function registerSurvivors(): void {
  sweepScheduled = false;
  const batch = young;
  young = [];
  for (const a of batch) watch(a);
}

function watchForCollection(a: MxArray): void {
  young.push(a);
  if (young.length >= 1024) registerSurvivors();
  else if (!sweepScheduled) {
    sweepScheduled = true;
    setImmediate(registerSurvivors).unref();
  }
}

/**
 * @internal Registers arrays with the garbage-collection backstop now rather than a moment later:
 * for what a computation returns to its caller to keep or drop (a run's logits, its cached
 * activations), few and large, which a synchronous loop that drops them should get back without
 * dispose(). The young arrays are registered with them (the list holds them strongly, and at the
 * end of a computation it holds little else). Disposed arrays are skipped. Returns its argument.
 */
export function freeWhenDropped<T extends Iterable<MxArray>>(arrays: T): T {
  registerSurvivors();
  for (const a of arrays) watch(a);
  return arrays;
}

/** @internal Wraps a fresh native handle in an Array. */
export function wrap(handle: Handle): MxArray {
  return new MxArray(handle);
}

/** @internal Wraps a list of fresh native handles. */
export function wrapAll(handles: Handle[]): MxArray[] {
  return handles.map((h) => new MxArray(h));
}

// JavaScript's heap cannot hold every nested list: past this many elements and lists, tolist()
// would exhaust it (a fatal error, not an exception), so it refuses and points to toTypedArray().
const MAX_LIST_ITEMS = 2 ** 26;

function requireListable(shape: readonly number[]): void {
  let items = 0;
  let lists = 1;
  for (const d of shape) {
    items += lists;
    lists *= d;
  }
  items += lists;
  if (items > MAX_LIST_ITEMS) {
    throw new RangeError(
      `tolist(): an array of shape [${shape}] makes ${items} JavaScript values, more than the ${MAX_LIST_ITEMS} ` +
        "allowed; read it with toTypedArray() or take a slice",
    );
  }
}

// Reads every element as a JS scalar; float16/bfloat16 are widened exactly to float32 first.
function readScalars(a: MxArray): Scalar[] {
  const dtype = a.dtype;
  if (dtype === "float16" || dtype === "bfloat16") {
    const wide = new MxArray(n.astype(a.handle, dtypeCode("float32")) as Handle);
    try {
      return Array.from(wide.toTypedArray() as Float32Array);
    } finally {
      wide.dispose();
    }
  }
  const data = a.toTypedArray();
  if (dtype === "bool") return Array.from(data as Uint8Array, (v) => v !== 0);
  if (dtype === "complex64") {
    const pairs = data as Float32Array;
    const out: Complex[] = [];
    for (let i = 0; i < pairs.length; i += 2) out.push({ re: pairs[i] as number, im: pairs[i + 1] as number });
    return out;
  }
  return Array.from(data as ArrayLike<number | bigint>);
}
