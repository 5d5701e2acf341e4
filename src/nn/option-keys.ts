// Option objects are checked by key: a key a call does not read (a snake_case name from Python, a
// typo, an option of another call) is an error naming it, the nearest valid key, and all of them,
// never silently ignored.
import { editDistance, nearestNames } from "./nearest.ts";

/**
 * The keys of an options type, listed at run time: the object must name every key of T (the
 * compiler checks both ways), so the list cannot fall behind the type.
 */
export function keysOf<T>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(keys);
}

/**
 * Throws if `options` (undefined is fine) is not an object or has a key outside `allowed`.
 * `hints` add a sentence for a key that means something elsewhere (e.g. `cache` on runWithHooks).
 */
export function checkOptionKeys(
  options: unknown,
  allowed: readonly string[],
  what: string,
  hints: Readonly<Record<string, string>> = {},
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    const kind = options === null ? "null" : Array.isArray(options) ? "an array" : typeof options;
    throw new TypeError(`${what}: options must be an object, got ${kind}`);
  }
  for (const name of Object.keys(options)) {
    if (allowed.includes(name)) continue;
    const hint = hints[name] === undefined ? "" : ` ${hints[name]}`;
    const near = closest(name, allowed);
    const suggestion = near === undefined ? "" : `; did you mean ${near}?`;
    const list = allowed.length ? allowed.join(", ") : "none";
    throw new Error(`${what}: unknown option "${name}"${suggestion} (options: ${list})${hint}`);
  }
}

// The camelCase form of a snake_case name, else the nearest name within a third of its length (rounded up).
function closest(name: string, allowed: readonly string[]): string | undefined {
  const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (allowed.includes(camel)) return camel;
  const [near] = nearestNames(name, allowed, 1);
  if (near === undefined) return undefined;
  return editDistance(name.toLowerCase(), near.toLowerCase()) <= Math.max(1, Math.ceil(name.length / 3))
    ? near
    : undefined;
}
