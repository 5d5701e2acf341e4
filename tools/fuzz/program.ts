// What the fuzzer runs: programs as plain JSON (so a child process can be handed one, and a crash
// recorded and replayed), and their rendering as a JavaScript reproduction.

/** An argument, or the description of how to make one. */
export type Value =
  | { array: { shape: number[]; dtype: string; values: number[] | "random" } }
  | { ref: number }
  | { key: number }
  | { num: number | "NaN" | "Infinity" | "-Infinity" | "-0" }
  | { big: string }
  | { str: string }
  | { bool: boolean }
  | { list: Value[] }
  | { obj: Record<string, Value> }
  | { fn: { op: string; extra: Value[] } }
  | { none: "undefined" | "null" };

/** How a step's result is read after the call (reading is where evaluation happens). */
export type Read = "eval" | "tolist" | "toString" | "none";

/** One call of an exported mx function ("add", "linalg.svd", "random.normal"). */
export interface Step {
  op: string;
  args: Value[];
  read: Read;
}

/** A checkpoint copied from the shipped fixtures, changed, then loaded and run. */
export interface ModelProgram {
  kind: "model";
  source: string;
  mutations: Mutation[];
  prompt: number[];
}

export type Mutation =
  | { file: "config.json"; field: string; value: Value | "delete" }
  | { file: "tokenizer.json"; token: number; id: Value }
  | { file: "model.safetensors"; at: number; bytes: number[] }
  | { file: "model.safetensors"; truncate: number }
  | { file: "model.safetensors"; header: { tensor: number; field: "shape" | "dtype" | "data_offsets"; value: Value } };

export interface MxProgram {
  kind: "mx";
  steps: Step[];
}

export type Program = MxProgram | ModelProgram;

export function numberOf(v: { num: number | string }): number {
  if (typeof v.num === "number") return v.num;
  return v.num === "NaN" ? Number.NaN : v.num === "Infinity" ? Infinity : v.num === "-Infinity" ? -Infinity : -0;
}

/** The value as JavaScript source, with step results named s0, s1 ... */
export function valueSource(v: Value): string {
  if ("array" in v) {
    const { shape, dtype, values } = v.array;
    if (values === "random")
      return `mx.astype(mx.random.uniform(-2, 2, ${JSON.stringify(shape)}), ${JSON.stringify(dtype)})`;
    return `mx.reshape(mx.array(${JSON.stringify(values.map((x) => (Number.isFinite(x) ? x : String(x)))).replace(/"(NaN|-?Infinity)"/g, "$1")}, ${JSON.stringify(dtype)}), ${JSON.stringify(shape)})`;
  }
  if ("ref" in v) return `s${v.ref}`;
  if ("key" in v) return `mx.random.key(${v.key})`;
  if ("num" in v) return typeof v.num === "number" ? String(v.num) : v.num;
  if ("big" in v) return `${v.big}n`;
  if ("str" in v) return JSON.stringify(v.str);
  if ("bool" in v) return String(v.bool);
  if ("list" in v) return `[${v.list.map(valueSource).join(", ")}]`;
  if ("obj" in v)
    return `{ ${Object.entries(v.obj)
      .map(([k, x]) => `${k}: ${valueSource(x)}`)
      .join(", ")} }`;
  if ("fn" in v) return `(...xs) => mx.${v.fn.op}(...xs, ${v.fn.extra.map(valueSource).join(", ")})`;
  return v.none;
}

/** A program as a script that can be run with `node --conditions=mlux-source --import tsx`. */
export function programSource(program: Program): string {
  if (program.kind === "model") {
    return [
      `// a ${program.source} checkpoint copied to a temporary folder with these changes, then loaded and run:`,
      `// ${JSON.stringify(program.mutations)}`,
      `// prompt ${JSON.stringify(program.prompt)}: see tools/fuzz/interpreter.ts (runModelProgram)`,
    ].join("\n");
  }
  const lines = ['import { mx } from "mlux";'];
  program.steps.forEach((step, i) => {
    const call = `mx.${step.op}(${step.args.map(valueSource).join(", ")})`;
    const read =
      step.read === "eval"
        ? `; mx.eval(s${i})`
        : step.read === "tolist"
          ? `; s${i}.tolist()`
          : step.read === "toString"
            ? `; String(s${i})`
            : "";
    lines.push(`let s${i}; try { s${i} = ${call}${read}; } catch (e) { console.log(e.message); }`);
  });
  return lines.join("\n");
}
