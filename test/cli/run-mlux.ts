// Runs the mlux command as a user does: a child process, from source, checked by exit code, stdout
// and stderr. NO_COLOR is set unless the caller's env says otherwise.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../oracle/python.ts";

export const entry = join(repoRoot, "src", "cli", "main.ts");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnRun(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `mlux ARGS`, run from source (`script` is main.ts or a link to it). */
export function mlux(args: string[], options: { script?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return spawnRun(
    process.execPath,
    ["--conditions=mlux-source", "--import", "tsx", options.script ?? entry, ...args],
    options.env,
  );
}
