// Loads the compiled addon (build/Release/mlux.node) and says how to fix a failed load.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A reference to one native MLX array: a number naming a slot of the addon's table (see
 * native/src/handles.cc). Only src/mx touches handles.
 */
export type Handle = number & { readonly __mluxHandle: unique symbol };

/** What the addon takes where an array operand is expected: a handle, [number] or a boolean. */
export type NativeOperand = Handle | [number] | boolean;

// biome-ignore lint/suspicious/noExplicitAny: each op module declares the typed slice it uses.
export type NativeFunction = (...args: any[]) => any;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function loadAddon(): Record<string, NativeFunction> & {
  mlxVersion: string;
  mlxBuiltVersion: string;
  mlxBuiltBackend: string;
  gemmBackend: string;
} {
  const path = join(packageRoot, "build", "Release", "mlux.node");
  if (!existsSync(path)) {
    throw new Error(
      `mlux: the native addon is not built (${path} is missing). Run \`npm install\` in ${packageRoot} ` +
        "(it fetches MLX and builds the addon), or `node scripts/build-native.mjs` there.",
    );
  }
  // OpenBLAS (the CPU's matrix products on Linux, native/blas) reads this as it loads. Its threads
  // otherwise spin for 2^28 cycles after each product before they sleep, taking the cores that
  // MLX's thread and JavaScript need between a decode step's many small products; 2^4 (its least)
  // puts them to sleep at once. A value the user set is kept.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= "4";
  try {
    return createRequire(import.meta.url)(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (reason.startsWith("mlux is already in use by another thread")) throw new Error(reason);
    throw new Error(
      `mlux: could not load the native addon ${path}: ${reason}\n` +
        "If libmlx moved or changed, rebuild with `node scripts/build-native.mjs` (set MLX_ROOT for a custom MLX).",
    );
  }
}

export const native = loadAddon();

/**
 * The named addon functions, checked at load: a missing one means the addon was built from other
 * sources than this TypeScript, and the error says how to rebuild.
 */
export function nativeFunctions<const K extends string>(...names: K[]): Record<K, NativeFunction> {
  const out = {} as Record<K, NativeFunction>;
  for (const name of names) out[name] = nativeFunction(name);
  return out;
}

export function nativeFunction(name: string): NativeFunction {
  const fn = (native as Record<string, unknown>)[name];
  if (typeof fn !== "function") {
    throw new Error(
      `mlux: the native addon has no function ${name}; rebuild it with \`node scripts/build-native.mjs\``,
    );
  }
  return fn as NativeFunction;
}
