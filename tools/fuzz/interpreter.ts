// Runs fuzz programs (in a child process: see child.ts). Every Error a call throws is the expected
// outcome for hostile input and is ignored; what the fuzzer looks for is a process that dies or a
// call that never returns, which the parent (campaign.ts) sees from outside.
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateTokens, HookedModel, loadModel, mx } from "mlux";
import { Tokenizer } from "../../src/load/tokenizer.ts";
import { INTEGER_RANGE } from "../../src/mx/integer-data.ts";
import { type ModelProgram, type Mutation, type MxProgram, numberOf, type Program, type Value } from "./program.ts";

type MxArray = InstanceType<typeof mx.Array>;

/** Calls made, counted across programs: array constructions, the fuzzed calls and the reads. */
export const counts = { calls: 0, programs: 0, returned: 0, refused: 0, modelsLoaded: 0 };

/** When set, the first line of each refusal's message is counted here (for tuning the grammar). */
export const refusals: { messages?: Map<string, number> } = {};

export async function runProgram(program: Program, root: string): Promise<void> {
  counts.programs++;
  if (program.kind === "mx") await runMxProgram(program);
  else await runModelProgram(program, root);
}

async function runMxProgram(program: MxProgram): Promise<void> {
  const made: MxArray[] = [];
  const results: unknown[] = [];
  try {
    for (const step of program.steps) {
      let result: unknown;
      try {
        const args = step.args.map((v) => materialize(v, results, made));
        const [fn, self] = resolve(step.op);
        counts.calls++;
        result = fn.apply(self, args);
        if (result instanceof Promise) result = await result;
        read(result, step.read);
        counts.returned++;
      } catch (error) {
        // A refused input: what hostile arguments should get.
        counts.refused++;
        if (refusals.messages) {
          const key = `${step.op}: ${String((error as Error)?.message ?? error)
            .split("\n")[0]
            ?.slice(0, 70)}`;
          refusals.messages.set(key, (refusals.messages.get(key) ?? 0) + 1);
        }
      }
      results.push(result);
    }
  } finally {
    for (const a of made) a.dispose();
    for (const r of results) for (const a of arraysIn(r)) a.dispose();
  }
}

function resolve(op: string): [(...args: unknown[]) => unknown, unknown] {
  const path = op.split(".");
  if (path[0] === "canary") return [CANARIES[path[1] as string] as () => never, undefined];
  let self: unknown;
  let target: unknown = mx;
  for (const part of path) {
    self = target;
    target = (target as Record<string, unknown>)[part];
  }
  return [target as (...args: unknown[]) => unknown, self];
}

function arraysIn(value: unknown, depth = 0): MxArray[] {
  if (value instanceof mx.Array) return [value];
  if (depth > 2 || typeof value !== "object" || value === null) return [];
  return Object.values(value).flatMap((v) => arraysIn(v, depth + 1));
}

function read(result: unknown, how: string): void {
  const arrays = arraysIn(result).filter((a) => !a.disposed);
  if (how === "none" || arrays.length === 0) return;
  counts.calls++;
  if (how === "eval") mx.eval(arrays);
  for (const a of arrays) {
    if (how === "tolist") {
      if (a.size <= 100_000) a.tolist();
      else mx.eval(a);
    } else if (how === "toString" && a.size <= 10_000) {
      String(a);
    }
  }
}

function materialize(v: Value, results: unknown[], made: MxArray[]): unknown {
  if ("array" in v) {
    const a = makeArray(v.array.shape, v.array.dtype, v.array.values);
    made.push(a);
    return a;
  }
  if ("ref" in v) return results[v.ref];
  if ("key" in v) {
    const key = mx.random.key(v.key);
    made.push(key);
    return key;
  }
  if ("num" in v) return numberOf(v);
  if ("big" in v) return BigInt(v.big);
  if ("str" in v) return v.str;
  if ("bool" in v) return v.bool;
  if ("list" in v) return v.list.map((x) => materialize(x, results, made));
  if ("obj" in v) return Object.fromEntries(Object.entries(v.obj).map(([k, x]) => [k, materialize(x, results, made)]));
  if ("fn" in v) {
    const [fn, self] = resolve(v.fn.op);
    const extra = v.fn.extra.map((x) => materialize(x, results, made));
    return (...xs: unknown[]) => fn.apply(self, [...xs, ...extra]);
  }
  return v.none === "null" ? null : undefined;
}

// Array contents within the dtype's range, so that hostile integers (the most negative, -1) reach
// the ops instead of stopping at mx.array's range check.
function makeArray(shape: number[], dtype: string, values: number[] | "random"): MxArray {
  counts.calls++;
  if (values === "random") {
    const source = mx.random.uniform(-2, 2, shape);
    try {
      return mx.astype(source, dtype as mx.DType);
    } finally {
      source.dispose();
    }
  }
  const range = INTEGER_RANGE[dtype as mx.DType];
  const data = range
    ? values.map((x) => {
        const whole = Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
        return whole < range[0] ? range[0] : whole > range[1] ? range[1] : whole;
      })
    : values;
  const flat =
    range && (dtype === "int64" || dtype === "uint64")
      ? mx.array(data as bigint[], dtype as mx.DType)
      : range
        ? mx.array((data as bigint[]).map(Number), dtype as mx.DType)
        : dtype === "bool"
          ? mx.array(values.map((x) => x !== 0))
          : mx.array(values, dtype === "complex64" ? "float32" : (dtype as mx.DType));
  try {
    const typed = dtype === "complex64" ? mx.astype(flat, "complex64") : flat;
    const shaped = mx.reshape(typed, shape);
    if (typed !== flat) typed.dispose();
    return shaped;
  } finally {
    flat.dispose();
  }
}

// Steps that crash or hang on purpose ("canary.segfault", "canary.hang"; the grammar never makes
// them), so the campaign's own test can check that crashes and hangs are seen, attributed and shrunk.
const CANARIES: Record<string, () => never> = {
  segfault: () => {
    process.kill(process.pid, "SIGSEGV");
    throw new Error("unreachable");
  },
  hang: () => {
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  },
};

// ---- the model-loading layer ------------------------------------------------------------------

async function runModelProgram(program: ModelProgram, root: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mlux-fuzz-"));
  try {
    cpSync(join(root, program.source), dir, { recursive: true });
    for (const mutation of program.mutations) {
      try {
        mutate(dir, mutation);
      } catch {
        // A mutation that does not apply to this checkpoint (a file it lacks) leaves it as it is.
      }
    }
    counts.calls++;
    let loaded: Awaited<ReturnType<typeof loadModel>> | undefined;
    try {
      loaded = await loadModel(dir);
    } catch {
      return;
    }
    counts.modelsLoaded++;
    try {
      counts.calls++;
      mx.eval(loaded.model.call(mx.array([program.prompt.map((t) => Math.trunc(Math.abs(t)) % 4)])));
    } catch {}
    try {
      counts.calls++;
      generateTokens(loaded.model, program.prompt, { maxTokens: 2 });
    } catch {}
    try {
      counts.calls++;
      Tokenizer.fromFolder(dir).encode("Hello, world");
    } catch {}
    try {
      counts.calls++;
      await HookedModel.fromPretrained(dir);
    } catch {}
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mutate(dir: string, m: Mutation): void {
  const path = join(dir, m.file);
  if (m.file === "config.json" && "field" in m) {
    const config = JSON.parse(readFileSync(path, "utf8"));
    if (m.value === "delete") delete config[m.field];
    else config[m.field] = jsonValue(m.value);
    writeFileSync(
      path,
      JSON.stringify(config).replace(/"__(-?Infinity|NaN)__"/g, (_, x) =>
        x === "NaN" ? "NaN" : x === "Infinity" ? "1e999" : "-1e999",
      ),
    );
  } else if (m.file === "tokenizer.json" && "token" in m) {
    const tokenizer = JSON.parse(readFileSync(path, "utf8"));
    const added = tokenizer.added_tokens as { id: unknown }[] | undefined;
    const vocab = tokenizer.model?.vocab as Record<string, unknown> | undefined;
    const value = jsonValue(m.id);
    if (added && added.length > 0 && m.token % 2 === 0) (added[m.token % added.length] as { id: unknown }).id = value;
    else if (vocab && !Array.isArray(vocab)) {
      const keys = Object.keys(vocab);
      vocab[keys[m.token % keys.length] as string] = value;
    }
    writeFileSync(
      path,
      JSON.stringify(tokenizer).replace(/"__(-?Infinity)__"/g, (_, x) => (x === "Infinity" ? "1e999" : "-1e999")),
    );
  } else if ("truncate" in m) {
    truncateSync(path, m.truncate);
  } else if ("at" in m) {
    const bytes = readFileSync(path);
    m.bytes.forEach((b, i) => {
      if (m.at + i < bytes.length) bytes[m.at + i] = b;
    });
    writeFileSync(path, bytes);
  } else if ("header" in m) {
    const bytes = readFileSync(path);
    const length = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString("utf8"));
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    const entry = header[names[m.header.tensor % names.length] as string];
    entry[m.header.field] = jsonValue(m.header.value);
    const text = Buffer.from(JSON.stringify(header).replace(/"__(-?Infinity|NaN)__"/g, "1e999"));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(text.length));
    writeFileSync(path, Buffer.concat([prefix, text, bytes.subarray(8 + length)]));
  }
}

// A Value as JSON data (non-finite numbers as markers that the writers turn into 1e999 or NaN).
function jsonValue(v: Value): unknown {
  if ("num" in v) {
    const x = numberOf(v);
    return Number.isFinite(x) ? x : `__${String(x)}__`;
  }
  if ("str" in v) return v.str;
  if ("bool" in v) return v.bool;
  if ("big" in v) return Number(v.big);
  if ("list" in v) return v.list.map(jsonValue);
  if ("obj" in v) return Object.fromEntries(Object.entries(v.obj).map(([k, x]) => [k, jsonValue(x)]));
  if ("array" in v) return v.array.shape;
  if ("key" in v) return v.key;
  return null;
}
