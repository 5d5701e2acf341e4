// The README's TypeScript examples run as written.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const blocks = [...readFileSync(`${root}/README.md`, "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map(
  (m) => m[1] as string,
);

blocks.forEach((code, i) => {
  test(`README example ${i + 1} runs`, async () => {
    const file = `${root}/test/docs/.readme-example-${i + 1}.ts`;
    // Relative paths in the examples are relative to the repository root.
    writeFileSync(file, code.replaceAll('"fixtures/', `"${root}/fixtures/`));
    try {
      await import(file);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
