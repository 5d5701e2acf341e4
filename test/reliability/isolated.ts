// Runs a snippet that once crashed the process in a child process, so a crash fails the test that
// sent it instead of ending the test runner.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface IsolatedOutcome {
  /** The message of the Error the snippet threw, or undefined if it threw none. */
  error: string | undefined;
  /** What the snippet returned, through JSON. */
  value: unknown;
  /** mx.add([1, 2], 1) computed after the snippet, in the same process: [2, 3] when all is well. */
  next: unknown;
}

/**
 * Runs `body` (JavaScript, the body of an async function with `mx` and `mlux` in scope) in a new
 * Node process and reports what it threw. Throws if the process died, hung past `timeoutMs`, or
 * printed no result: the caller's test then fails with the child's exit and its last output.
 */
export function runIsolated(
  body: string,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): IsolatedOutcome {
  const script = `
    import * as mlux from "mlux";
    const { mx } = mlux;
    let error, value;
    try { value = await (async () => { ${body} })(); } catch (e) { error = e instanceof Error ? e.message : String(e); }
    const next = mx.add(mx.array([1, 2]), 1).tolist();
    console.log("RESULT " + JSON.stringify({ error, value: value === undefined ? null : value, next }, (k, v) => typeof v === "bigint" ? String(v) : v));
  `;
  const child = spawnSync(
    process.execPath,
    ["--conditions=mlux-source", "--import", "tsx", "--input-type=module", "-e", script],
    { cwd: root, encoding: "utf8", timeout: options.timeoutMs ?? 60_000, env: { ...process.env, ...options.env } },
  );
  const line = child.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (child.status !== 0 || line === undefined) {
    const how = child.signal ? `was killed by ${child.signal}` : `exited with ${child.status}`;
    throw new Error(`the child process ${how}:\n${child.stdout.slice(-2000)}\n${child.stderr.slice(-2000)}`);
  }
  const result = JSON.parse(line.slice("RESULT ".length));
  return { error: result.error, value: result.value, next: result.next };
}
