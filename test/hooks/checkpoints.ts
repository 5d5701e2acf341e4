// What the hook tests share: the tiny checkpoints of every architecture (tools/checkpoints), their
// prompts, and tools/oracle/hooks.py, which records what mlx-lm's own modules do.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";
import { askOracleSync } from "../oracle/python.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const checkpointsDir = join(root, ".checkpoints");

interface Manifest {
  checkpoints: Record<string, { model_type: string; variants: Record<string, { path: string }> }>;
}

export interface Checkpoint {
  /** `llama/fp32` */
  label: string;
  name: string;
  variant: string;
  dir: string;
  config: Record<string, unknown>;
}

/** The quantized variants tested beside every fp32 checkpoint: plain GQA, soft-capped, fused GPT-2
 * attention, and granite's mixed 4/8-bit layers. */
export const QUANTIZED = ["llama", "gemma2", "gpt2", "granite"];

// MLUX_HOOK_TESTS=fp32 leaves the q4 variants out: on a fresh CUDA machine MLX first compiles its
// quantized kernels at run time, minutes before the first q4 result (bench/cuda/offline/measure.sh).
const FP32_ONLY = process.env.MLUX_HOOK_TESTS === "fp32";

/** Every fp32 checkpoint, then the q4 variant of `quantized`. */
export function checkpoints(quantized: readonly string[] = FP32_ONLY ? [] : QUANTIZED): Checkpoint[] {
  const manifestFile = join(checkpointsDir, "manifest.json");
  if (!existsSync(manifestFile)) {
    throw new Error(`no test checkpoints in ${checkpointsDir}; make them with node test/checkpoints/setup.mjs`);
  }
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  const out: Checkpoint[] = [];
  const add = (name: string, variant: string) => {
    const entry = manifest.checkpoints[name]?.variants[variant];
    if (entry === undefined) throw new Error(`the manifest has no ${name}/${variant}`);
    const dir = join(checkpointsDir, entry.path);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    out.push({ label: `${name}/${variant}`, name, variant, dir, config });
  };
  for (const name of Object.keys(manifest.checkpoints)) add(name, "fp32");
  for (const name of quantized) add(name, "q4");
  return out;
}

/**
 * Token ids of a prompt: 20 positions, longer than the sliding windows of the checkpoints
 * (8), from a seeded sequence over ids every checkpoint has (vocabularies are 8192 or more).
 */
export function promptIds(seed: number, length = 20): number[] {
  let state = seed >>> 0;
  return Array.from({ length }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return 3 + (state % 8000);
  });
}

/** The window of a sliding attention layer as mlx-lm applies it: only layers config.layer_types
 * marks sliding (a sliding_window alone is ignored by mlx-lm's gemma2, qwen2, phi3, starcoder2). */
export function slidingWindow(config: Record<string, unknown>, layer: number): number | undefined {
  const types = config.layer_types as string[] | undefined;
  return types?.[layer] === "sliding_attention" ? (config.sliding_window as number) : undefined;
}

export function isHookPoint(path: string): boolean {
  return /(^|\.)hook_/.test(path);
}

/** The largest |a - b| over two arrays of one shape (bfloat16 and float16 widen exactly to float32). */
export function maxAbsDiff(actual: mx.Array, expected: mx.Array, label: string): number {
  assert.deepEqual(actual.shape, expected.shape, `shape differs (${label})`);
  const worst = mx.tidy(
    () => mx.max(mx.abs(mx.subtract(mx.astype(actual, "float32"), mx.astype(expected, "float32")))).item() as number,
  );
  return Number.isNaN(worst) ? Number.POSITIVE_INFINITY : worst;
}

// ---- the Python side ---------------------------------------------------------------------------

export interface OracleJob {
  checkpoint: string;
  tokens: number[];
  corrupted?: number[];
  inputs_of?: string[];
  ablate?: string[];
  ablate_heads?: { projection: string; head: number; heads: number }[];
  patch?: { path: string; positions: number[] }[];
  zero_inputs?: { path: string; positions: number[] }[];
  patterns?: { attention: string; layer: number }[];
}

export interface OracleResult {
  arrays: Record<string, mx.Array>;
  /** Module paths of mlx-lm's tree. */
  paths: string[];
  /** Per attention path: the scale, soft-cap and window the Python pattern used. */
  patterns: Record<string, { scale: number; softcap: number | null; window: number | null }>;
}

// Our GEMM shim, preloaded into Python so its fp32 matrix products are the ones mlux computes
// (as test/checkpoints/setup.mjs does for the logits references).
export function gemmShim(): string | null {
  const out = execFileSync(process.execPath, [join(root, "scripts/mlx-setup.mjs")], { encoding: "utf8" });
  return (JSON.parse(out.slice(out.indexOf("{"))) as { gemmShim: string | null }).gemmShim;
}

/** Runs every job in one Python process; one result per job, in order. */
export function runHooksOracle(jobs: readonly OracleJob[]): OracleResult[] {
  const dir = mkdtempSync(join(tmpdir(), "mlux-hooks-oracle-"));
  try {
    const withOut = jobs.map((job, i) => ({ op: "run", ...job, out: join(dir, `job${i}.safetensors`) }));
    const shim = gemmShim();
    const env = shim ? { ...process.env, LD_PRELOAD: shim } : process.env;
    const answers = askOracleSync<Omit<OracleResult, "arrays">>("hooks", withOut, env);
    return withOut.map(({ out }, i) => {
      const side = answers[i] as Omit<OracleResult, "arrays">;
      const { arrays } = mx.loadSafetensors(out);
      mx.eval(...Object.values(arrays)); // read now: the folder goes away below
      return { ...side, arrays };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
