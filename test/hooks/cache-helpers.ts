// Shared by the ActivationCache tests: the tiny checkpoints and a closeness check scaled to the
// activations compared.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const checkpoints = join(root, ".checkpoints");

interface Manifest {
  checkpoints: Record<string, { model_type: string; variants: Record<string, { path: string }> }>;
}

if (!existsSync(join(checkpoints, "manifest.json"))) {
  throw new Error(`no test checkpoints in ${checkpoints}; make them with tools/checkpoints (npm test does)`);
}
export const manifest = JSON.parse(readFileSync(join(checkpoints, "manifest.json"), "utf8")) as Manifest;

/** The folder of one checkpoint variant (`llama`, `fp32`). */
export function checkpoint(name: string, variant: string): string {
  const path = manifest.checkpoints[name]?.variants[variant]?.path;
  if (path === undefined) throw new Error(`no checkpoint ${name}/${variant} in the manifest`);
  return join(checkpoints, path);
}

/** Two prompts of six tokens, ids every tiny checkpoint has. */
export const PROMPTS = [
  [1, 5, 9, 3, 7, 2],
  [4, 8, 6, 2, 9, 11],
];

/**
 * Asserts same shape and max |actual - expected| <= tol · max(1, max |expected|): float32 sums in
 * another order differ by rounding that grows with the size of the terms, so the bound scales
 * with the activations' magnitude (Granite's attention outputs reach ~150, most others ~10).
 */
export function assertNear(actual: mx.Array, expected: mx.Array, tol: number, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `shape differs (${label})`);
  mx.tidy(() => {
    const a = mx.astype(actual, "float32");
    const e = mx.astype(expected, "float32");
    const scale = Math.max(1, mx.max(mx.abs(e)).item() as number);
    const worst = mx.max(mx.abs(mx.subtract(a, e))).item() as number;
    assert.ok(
      worst <= tol * scale,
      `${label}: max difference ${worst.toExponential(2)} exceeds ${tol} × ${scale.toFixed(2)}`,
    );
  });
}

/** Asserts identical dtype, shape and bytes. */
export function assertSameBits(actual: mx.Array, expected: mx.Array, label: string): void {
  assert.equal(actual.dtype, expected.dtype, `dtype differs (${label})`);
  assert.deepEqual(actual.shape, expected.shape, `shape differs (${label})`);
  const bytes = (a: mx.Array) => {
    const data = a.toTypedArray();
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  };
  assert.ok(bytes(actual).equals(bytes(expected)), `bytes differ (${label})`);
}
