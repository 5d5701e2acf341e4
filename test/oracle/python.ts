// How the tests run the Python oracle (tools/oracle, in the venv scripts/setup-oracle.mjs makes):
// `python -m tools.oracle.<module>` from the repository root, one JSON list of requests on stdin
// and one JSON list of answers on stdout (tools/oracle/protocol.py).
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const oraclePython = join(process.env.MLUX_ORACLE_VENV ?? join(repoRoot, ".venv-oracle"), "bin", "python");

/** The command line that runs an oracle module; spawn it with `cwd: repoRoot`. */
export function oracleArgs(module: string): string[] {
  return ["-m", `tools.oracle.${module}`];
}

// Answers can be large (whole-vocabulary token lists).
const maxBuffer = 256 * 1024 * 1024;

/** Sends a batch of requests to an oracle module in one process; resolves to its answers, in order. */
export function askOracle<T = unknown>(
  module: string,
  requests: readonly Record<string, unknown>[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      oraclePython,
      oracleArgs(module),
      { cwd: repoRoot, encoding: "utf8", maxBuffer, env },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`Python oracle tools/oracle/${module}.py failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T[]);
      },
    );
    child.stdin?.end(JSON.stringify(requests));
  });
}

/** askOracle, blocking; the module's stderr goes to ours. */
export function askOracleSync<T = unknown>(
  module: string,
  requests: readonly Record<string, unknown>[],
  env: NodeJS.ProcessEnv = process.env,
): T[] {
  const stdout = execFileSync(oraclePython, oracleArgs(module), {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer,
    env,
    input: JSON.stringify(requests),
    stdio: ["pipe", "pipe", "inherit"],
  });
  return JSON.parse(stdout) as T[];
}
