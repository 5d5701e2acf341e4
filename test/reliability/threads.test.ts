// mlux from worker threads: one thread at a time may use it (the array table and MLX's streams are
// not shared between threads); a second is refused with an Error, and ending a thread that uses it
// (process.exit, worker.terminate) is clean.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("./threads/main.mjs", import.meta.url));

function run(mode: string): { status: number | null; signal: string | null; output: string } {
  const child = spawnSync(process.execPath, ["--conditions=mlux-source", "--import", "tsx", main, mode], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: child.status, signal: child.signal, output: child.stdout + child.stderr };
}

describe("worker threads", () => {
  test("a second thread is refused with a clear Error while the first keeps working", () => {
    const { status, output } = run("second-thread");
    assert.equal(status, 0, output);
    assert.match(output, /^main: 512$/m);
    assert.match(output, /^worker: error: mlux is already in use by another thread of this process/m);
    assert.match(output, /^main again: 512$/m);
  });

  test("process.exit while a worker computes ends the process cleanly", () => {
    for (let round = 0; round < 3; round++) {
      const { status, signal, output } = run("exit");
      assert.deepEqual([status, signal], [0, null], output);
      assert.match(output, /^worker: running$/m);
      assert.doesNotMatch(output, /terminate called/);
    }
  });

  test("a worker terminated mid-computation hands mlux over to the main thread", () => {
    const { status, output } = run("terminate");
    assert.equal(status, 0, output);
    assert.match(output, /^worker: running$/m);
    assert.match(output, /^main after terminate: 512$/m);
  });
});
