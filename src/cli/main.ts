#!/usr/bin/env node
// The mlux command. `mlux generate "prompt"` runs the default model (the KJV fixture the project
// ships) unless --model names a folder or a Hub id; `mlux --help` lists the commands.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { run } from "./program.ts";

/** Whether this file is the program node was started with, also when started through a symlink
 * (npx, node_modules/.bin/mlux): node runs the link's target, so compare real paths. */
function isMainModule(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  process.exitCode = await run(process.argv.slice(2));
}
