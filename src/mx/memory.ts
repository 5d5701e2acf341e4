// MLX's allocator: memory in use, peak, cache, and the limits that bound them (all in bytes).
import { nativeFunctions } from "./native.ts";

const n = nativeFunctions(
  "activeMemory",
  "cacheMemory",
  "clearCache",
  "memoryLimit",
  "peakMemory",
  "resetPeakMemory",
  "setCacheLimit",
  "setMemoryLimit",
  "setWiredLimit",
);

/** Bytes held by live arrays (not counting the allocator's cache). */
export function activeMemory(): number {
  return n.activeMemory() as number;
}

/** The largest activeMemory() seen since the start or the last resetPeakMemory(). */
export function peakMemory(): number {
  return n.peakMemory() as number;
}

/** Starts peak tracking afresh from the current use. */
export function resetPeakMemory(): void {
  n.resetPeakMemory();
}

/** Bytes freed by arrays but kept by the allocator for reuse. */
export function cacheMemory(): number {
  return n.cacheMemory() as number;
}

/** Returns the cached bytes to the system. */
export function clearCache(): void {
  n.clearCache();
}

/**
 * The current memory limit. MLX uses it as a guideline while evaluating; mlux also refuses, before
 * evaluating, a graph with an array or outputs larger than what is left under it (or under the
 * machine's memory), since a failed allocation during evaluation would end the process.
 */
export function memoryLimit(): number {
  return n.memoryLimit() as number;
}

/** Sets the memory limit; returns the previous one. */
export function setMemoryLimit(bytes: number): number {
  return n.setMemoryLimit(bytes) as number;
}

/** Sets how many freed bytes the cache may keep (0 disables it); returns the previous limit. */
export function setCacheLimit(bytes: number): number {
  return n.setCacheLimit(bytes) as number;
}

/** Sets the wired (resident) memory limit, used by Metal on macOS only; returns the previous one. */
export function setWiredLimit(bytes: number): number {
  return n.setWiredLimit(bytes) as number;
}

/** mx.memory: the allocator functions above as one namespace. */
export const memory = {
  activeMemory,
  peakMemory,
  resetPeakMemory,
  cacheMemory,
  clearCache,
  memoryLimit,
  setMemoryLimit,
  setCacheLimit,
  setWiredLimit,
} as const;
