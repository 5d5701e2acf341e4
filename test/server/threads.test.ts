// The HTTP thread must never load mlux: the addon belongs to one thread (the model's), and a second
// thread that loads it gets an error. Walks every import reachable from the HTTP thread's entry
// (static, dynamic, type-only ones aside) and fails on one that reaches the array API.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "src");

/** Every file of ours reachable from `entry` by imports that load code (`import type` does not). */
function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>([[entry, "(entry)"]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const text = readFileSync(file, "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    const specifiers: string[] = [];
    source.forEachChild(function visit(node) {
      if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
        specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
      } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier) {
        specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [argument] = node.arguments;
        if (argument && ts.isStringLiteral(argument)) specifiers.push(argument.text);
      }
      node.forEachChild(visit);
    });
    for (const specifier of specifiers) {
      if (!specifier.startsWith(".")) continue;
      const target = resolve(dirname(file), specifier);
      if (!seen.has(target)) {
        seen.set(target, relative(SRC, file));
        queue.push(target);
      }
    }
  }
  return seen;
}

test("the HTTP thread's imports never reach mlux's array API (the addon)", () => {
  const files = reachable(resolve(SRC, "server/http/worker.ts"));
  const names = [...files.keys()].map((f) => relative(SRC, f));
  assert.ok(names.includes("server/http/app.ts") && names.includes("load/tokenizer.ts"), names.join(", "));
  const loadsAddon = [...files].filter(([f]) => relative(SRC, f).startsWith("mx/"));
  assert.deepEqual(
    loadsAddon.map(([f, from]) => `${relative(SRC, f)} (imported by ${from})`),
    [],
    "the HTTP thread would load the addon",
  );
});

test("the walk finds the addon where it is imported (the model's side)", () => {
  const names = [...reachable(resolve(SRC, "server/start.ts")).keys()].map((f) => relative(SRC, f));
  assert.ok(names.includes("mx/native.ts"));
});
