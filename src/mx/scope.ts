// Ownership scopes: mx.tidy() disposes the arrays its callback made, except those it returns.

interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const scopes: Set<Disposable>[] = [];

// Frees what a scope owned. array.ts replaces it with one that frees all the Arrays among them
// in one addon call (a decode step ends scopes holding some 550 arrays).
let release = (owned: Iterable<Disposable>): void => {
  for (const a of owned) a.dispose();
};

/** @internal Sets how a scope frees what it owned (array.ts, at load). */
export function setRelease(releaseAll: (owned: Iterable<Disposable>) => void): void {
  release = releaseAll;
}

/** @internal Called for every new Array: the innermost open scope takes ownership. */
export function track(array: Disposable): void {
  scopes[scopes.length - 1]?.add(array);
}

/**
 * Runs `fn` and disposes every Array created during it, except the Arrays found in its result
 * (an Array, or Arrays inside plain arrays, Maps and objects), which pass to the enclosing scope.
 * `fn` must be synchronous: an async callback's arrays would outlive the scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    release(scope);
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    release(scope);
    throw new TypeError("mx.tidy() takes a synchronous function; its arrays were disposed");
  }
  if (isDisposable(result)) {
    // The common case (a module's forward returns one Array), without collect's bookkeeping.
    if (scope.delete(result)) track(result);
  } else {
    const kept = new Set<Disposable>();
    collect(result, kept, new Set());
    for (const a of kept) {
      if (scope.delete(a)) track(a);
    }
  }
  release(scope);
  return result;
}

/** Takes arrays out of every open scope, so no tidy() disposes them. Returns its argument. */
export function keep<T extends Disposable | Disposable[]>(arrays: T): T {
  for (const a of Array.isArray(arrays) ? arrays : [arrays]) {
    for (const scope of scopes) scope.delete(a);
  }
  return arrays;
}

function isDisposable(value: unknown): value is Disposable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Disposable).dispose === "function" &&
    "disposed" in value
  );
}

function collect(value: unknown, into: Set<Disposable>, seen: Set<unknown>): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (isDisposable(value)) {
    into.add(value);
    return;
  }
  const children = value instanceof Map ? value.values() : Array.isArray(value) ? value : Object.values(value);
  for (const child of children) collect(child, into, seen);
}
