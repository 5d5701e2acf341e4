// The TypeScript side of the test oracle: runs MLX expressions in Python (tools/oracle/server.py,
// in the venv made by scripts/setup-oracle.mjs) and compares their results with ours.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mx } from "mlux";
import { oracleArgs, oraclePython, repoRoot } from "./python.ts";

interface Wire {
  dtype: string;
  shape: number[];
  data: string;
}

type Pending = { resolve: (outputs: Wire[]) => void; reject: (error: Error) => void };

class PythonOracle {
  #process: ChildProcessWithoutNullStreams;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #stderr = "";

  constructor() {
    this.#process = spawn(oraclePython, oracleArgs("server"), { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
    this.#process.stderr.on("data", (chunk) => {
      this.#stderr += String(chunk);
    });
    this.#process.on("exit", (code) => {
      for (const p of this.#pending.values()) p.reject(new Error(`oracle exited (${code}): ${this.#stderr}`));
      this.#pending.clear();
    });
    createInterface({ input: this.#process.stdout }).on("line", (line) => {
      const response = JSON.parse(line) as { id: number; outputs?: Wire[]; error?: string; trace?: string };
      const pending = this.#pending.get(response.id);
      this.#pending.delete(response.id);
      if (!pending) return;
      if (response.error !== undefined)
        pending.reject(new Error(`Python oracle: ${response.error}\n${response.trace}`));
      else pending.resolve(response.outputs ?? []);
    });
  }

  /** Runs `code` (which sets `result`) with the inputs bound to names; returns the outputs as Arrays. */
  async run(code: string, inputs: Record<string, mx.Array> = {}): Promise<mx.Array[]> {
    const wireInputs: Record<string, Wire> = {};
    for (const [name, a] of Object.entries(inputs)) wireInputs[name] = toWire(a);
    const id = this.#nextId++;
    const outputs = await new Promise<Wire[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#process.stdin.write(`${JSON.stringify({ id, code, inputs: wireInputs })}\n`);
    });
    return outputs.map(fromWire);
  }

  close(): void {
    this.#process.stdin.end();
  }
}

function toWire(a: mx.Array): Wire {
  const data = a.toTypedArray();
  return {
    dtype: a.dtype,
    shape: a.shape,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64"),
  };
}

function fromWire(w: Wire): mx.Array {
  const bytes = Buffer.from(w.data, "base64");
  return mx.fromRaw(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), w.shape, w.dtype as mx.DType);
}

let shared: PythonOracle | undefined;

/** The oracle process shared by one test file; close it with closeOracle() in an `after` hook. */
export function oracle(): PythonOracle {
  shared ??= new PythonOracle();
  return shared;
}

export function closeOracle(): void {
  shared?.close();
  shared = undefined;
}

// ---- comparison --------------------------------------------------------------------------------

function halfToFloat(bits: number, bfloat: boolean): number {
  if (bfloat) {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, bits << 16);
    return view.getFloat32(0);
  }
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The values of an array as float64 (complex: interleaved re, im), for comparison. */
export function valuesOf(a: mx.Array): Float64Array {
  const data = a.toTypedArray();
  if (a.dtype === "float16" || a.dtype === "bfloat16") {
    return Float64Array.from(data as Uint16Array, (b) => halfToFloat(b, a.dtype === "bfloat16"));
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number);
  return Float64Array.from(data as ArrayLike<number>);
}

export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/** Asserts same dtype, same shape, and values within atol + rtol*|expected| (NaN matches NaN). */
export function assertClose(actual: mx.Array, expected: mx.Array, tol: Tolerance = {}, label = ""): void {
  const where = label ? ` (${label})` : "";
  assert.equal(actual.dtype, expected.dtype, `dtype differs${where}`);
  assert.deepEqual(actual.shape, expected.shape, `shape differs${where}`);
  const a = valuesOf(actual);
  const e = valuesOf(expected);
  const atol = tol.atol ?? 0;
  const rtol = tol.rtol ?? 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = e[i] as number;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
      worstAt = i;
    }
  }
  if (worstAt >= 0) {
    assert.fail(
      `values differ${where}: at flat index ${worstAt} got ${a[worstAt]}, Python MLX gave ${e[worstAt]} ` +
        `(atol ${atol}, rtol ${rtol})`,
    );
  }
}

/**
 * Runs `ours` and the Python expression `code` on the same inputs and asserts they agree.
 * `code` may be an expression (it becomes `result = <code>`) or statements that set `result`.
 */
export async function expectSameAsPython(
  ours: mx.Array | mx.Array[],
  code: string,
  inputs: Record<string, mx.Array> = {},
  tol: Tolerance = {},
): Promise<void> {
  const source = /^\s*result\s*=|\n/.test(code) ? code : `result = ${code}`;
  const expected = await oracle().run(source, inputs);
  const actual = Array.isArray(ours) ? ours : [ours];
  assert.equal(actual.length, expected.length, `Python returned ${expected.length} outputs, we ${actual.length}`);
  for (const [i, a] of actual.entries()) assertClose(a, expected[i] as mx.Array, tol, `${code} output ${i}`);
}

// ---- deterministic inputs ------------------------------------------------------------------------

/** A seeded generator of uniform floats in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float32 array of shape with values uniform in [lo, hi), seeded; cast to `dtype` if given. */
export function randomArray(
  shape: number[],
  seed: number,
  options: { lo?: number; hi?: number; dtype?: mx.DType } = {},
): mx.Array {
  const next = rng(seed);
  const lo = options.lo ?? -1;
  const hi = options.hi ?? 1;
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, () => lo + (hi - lo) * next());
  const flat = mx.array(data, options.dtype);
  return mx.reshape(flat, shape);
}

/** An int32 array of shape with values in [lo, hi), seeded. */
export function randomInts(shape: number[], seed: number, lo: number, hi: number): mx.Array {
  const next = rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Int32Array.from({ length: size }, () => lo + Math.floor((hi - lo) * next()));
  return mx.reshape(mx.array(data), shape);
}
