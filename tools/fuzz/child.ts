// One batch of a fuzz campaign, in its own process: `node ... child.ts <batch.json> <progress>`.
// Before each program it appends the program's index to the progress file (synchronously, so the
// parent knows which one was running if the process dies or stops answering), and at the end a
// line "done <calls>".
import { appendFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";
import { counts, runProgram } from "./interpreter.ts";
import type { Program } from "./program.ts";
import { parsePrograms } from "./serialize.ts";

const [batchFile, progressFile] = process.argv.slice(2) as [string, string];
const { memoryLimit, programs } = parsePrograms(readFileSync(batchFile, "utf8")) as {
  memoryLimit: number;
  programs: Program[];
};
const root = fileURLToPath(new URL("../..", import.meta.url));
// The bound every evaluation is checked against (src/mx: memory_guard.cc), so no child takes more
// than this of the shared machine's memory for arrays.
mx.memory.setMemoryLimit(memoryLimit);
for (const [i, program] of programs.entries()) {
  appendFileSync(progressFile, `${i}\n`);
  await runProgram(program, root);
}
appendFileSync(progressFile, `done ${counts.calls}\n`);
