// The layers of src/ and what each may import (its own folder always; packages and node: modules
// always; nothing of ours from a layer above it, type-only and dynamic imports included):
//
//   mx        nothing of ours (it loads the addon itself)
//   load      mx
//   nn        mx
//   models    mx, load, nn
//   generate  mx, load, nn, models
//   analysis  mx, nn, models        (pure analysis math over interfaces it declares itself)
//   hooks     mx, load, nn, models, generate, analysis
//   experiments  mx, load, nn, models, generate, analysis, hooks   (experiments that run a HookedModel)
//   server    every layer above but cli (the `mlux serve` web app: HTTP thread, model thread, jobs)
//   cli       every layer above
//
// src/index.ts (the public entry) may import any layer; no other file sits directly in src/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const LAYERS: Record<string, readonly string[]> = {
  mx: [],
  load: ["mx"],
  nn: ["mx"],
  models: ["mx", "load", "nn"],
  generate: ["mx", "load", "nn", "models"],
  analysis: ["mx", "nn", "models"],
  hooks: ["mx", "load", "nn", "models", "generate", "analysis"],
  experiments: ["mx", "load", "nn", "models", "generate", "analysis", "hooks"],
  server: ["mx", "load", "nn", "models", "generate", "analysis", "hooks", "experiments"],
  cli: ["mx", "load", "nn", "models", "generate", "analysis", "hooks", "experiments", "server"],
};

const ENTRY = "index.ts";

interface Violation {
  file: string;
  line: number;
  message: string;
}

/** The layer of a path relative to src/ ("models/cache/kv-cache.ts" → "models"), "" for src/ itself. */
function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/**
 * Every import against the layering in `files` (paths relative to src/ → source text): static
 * imports and re-exports, `import type`, dynamic `import("...")` and `typeof import("...")`.
 */
function checkLayering(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  for (const [file, text] of files) {
    const from = layerOf(file);
    if (from === "" && file !== ENTRY) {
      violations.push({
        file,
        line: 1,
        message: `only ${ENTRY} may sit directly in src/; move it into a layer folder`,
      });
      continue;
    }
    if (from !== "" && LAYERS[from] === undefined) {
      violations.push({
        file,
        line: 1,
        message: `src/${from}/ is not a known layer (${Object.keys(LAYERS).join(", ")}); add it to the layer table`,
      });
      continue;
    }
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      const specifier = imported.fileName;
      if (!specifier.startsWith(".")) continue; // a package or node: module
      const line = source.getLineAndCharacterOfPosition(imported.pos).line + 1;
      const target = relative("/src", resolve("/src", dirname(file), specifier));
      if (target.startsWith("..")) {
        violations.push({ file, line, message: `imports "${specifier}", which is outside src/` });
        continue;
      }
      const to = layerOf(target);
      if (from === "" || to === from) continue;
      if (to === "") {
        violations.push({ file, line, message: `imports "${specifier}": nothing inside src/ may import ${ENTRY}` });
      } else if (!(LAYERS[from] as readonly string[]).includes(to)) {
        const allowed = (LAYERS[from] as readonly string[]).join(", ") || "nothing of ours";
        violations.push({
          file,
          line,
          message: `${from} imports ${to} ("${specifier}"); ${from} may import only ${allowed}`,
        });
      }
    }
  }
  return violations;
}

function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) files.set(relative(root, path).split("\\").join("/"), readFileSync(path, "utf8"));
    }
  };
  walk(root);
  return files;
}

const format = (v: Violation) => `src/${v.file}:${v.line}: ${v.message}`;

describe("layering of src/", () => {
  test("no file imports from a layer above its own", () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");
    const files = readSources(root);
    assert.ok(files.size > 50, `expected the sources under ${root}, found ${files.size} files`);
    const violations = checkLayering(files);
    assert.deepEqual(violations.map(format), [], `imports against the layering:\n${violations.map(format).join("\n")}`);
  });

  test("the checker reports a planted upward import with its file, line and rule", () => {
    const files = new Map([
      ["models/x.ts", 'import { a } from "../nn/a.ts";\nimport { y } from "../hooks/y.ts";\n'],
      ["nn/a.ts", "export const a = 1;\n"],
    ]);
    assert.deepEqual(checkLayering(files).map(format), [
      'src/models/x.ts:2: models imports hooks ("../hooks/y.ts"); models may import only mx, load, nn',
    ]);
  });

  test("type-only, re-exported and dynamic imports count, comments do not", () => {
    const files = new Map([
      [
        "mx/a.ts",
        [
          'import type { M } from "../models/m.ts";',
          '// import { nothing } from "../hooks/h.ts";',
          'export { g } from "../generate/g.ts";',
          'const late = await import("../cli/main.ts");',
          'type T = typeof import("../load/l.ts");',
          'import { b } from "./b.ts";',
          'import { readFileSync } from "node:fs";',
        ].join("\n"),
      ],
    ]);
    assert.deepEqual(
      checkLayering(files).map((v) => v.line),
      [1, 3, 4, 5],
    );
  });

  test("experiments sit above hooks and below cli", () => {
    const files = new Map([
      [
        "experiments/e.ts",
        'import { HookedModel } from "../hooks/hooked-model.ts";\nimport { main } from "../cli/main.ts";',
      ],
      ["hooks/h.ts", 'import { logitLens } from "../experiments/logit-lens.ts";'],
      ["cli/c.ts", 'import { logitLens } from "../experiments/logit-lens.ts";'],
    ]);
    assert.deepEqual(checkLayering(files).map(format), [
      'src/experiments/e.ts:2: experiments imports cli ("../cli/main.ts"); experiments may import only mx, load, nn, models, generate, analysis, hooks',
      'src/hooks/h.ts:1: hooks imports experiments ("../experiments/logit-lens.ts"); hooks may import only mx, load, nn, models, generate, analysis',
    ]);
  });

  test("the server sits above experiments and below cli", () => {
    const files = new Map([
      [
        "server/s.ts",
        'import { logitLens } from "../experiments/logit-lens.ts";\nimport { run } from "../cli/program.ts";',
      ],
      ["experiments/e.ts", 'import { startServer } from "../server/start.ts";'],
      ["cli/c.ts", 'import { startServer } from "../server/start.ts";'],
    ]);
    assert.deepEqual(checkLayering(files).map(format), [
      'src/server/s.ts:2: server imports cli ("../cli/program.ts"); server may import only mx, load, nn, models, generate, analysis, hooks, experiments',
      'src/experiments/e.ts:1: experiments imports server ("../server/start.ts"); experiments may import only mx, load, nn, models, generate, analysis, hooks',
    ]);
  });

  test("analysis sits below hooks, and src/ holds only the entry and layer folders", () => {
    const files = new Map([
      ["analysis/a.ts", 'import { StandardNames } from "../hooks/standard-names.ts";'],
      ["hooks/h.ts", 'import { readout } from "../analysis/readout.ts";'],
      ["helpers.ts", "export const x = 1;"],
      ["widgets/s.ts", "export const s = 1;"],
      ["generate/g.ts", 'import { mx } from "../index.ts";'],
      ["load/l.ts", 'import data from "../../package.json";'],
      [ENTRY, 'export * from "./cli/main.ts";'],
    ]);
    assert.deepEqual(checkLayering(files).map(format), [
      'src/analysis/a.ts:1: analysis imports hooks ("../hooks/standard-names.ts"); analysis may import only mx, nn, models',
      "src/helpers.ts:1: only index.ts may sit directly in src/; move it into a layer folder",
      "src/widgets/s.ts:1: src/widgets/ is not a known layer (mx, load, nn, models, generate, analysis, hooks, experiments, server, cli); add it to the layer table",
      'src/generate/g.ts:1: imports "../index.ts": nothing inside src/ may import index.ts',
      'src/load/l.ts:1: imports "../../package.json", which is outside src/',
    ]);
  });
});
