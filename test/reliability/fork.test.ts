// Starting a child process while MLX computes. Node forks to spawn, and OpenBLAS's fork handler
// shuts its thread pool down under a running threaded product, which then waited forever: a test
// that spawned `mlux` right after a generation hung for 20 minutes. The addon now lets the fork wait
// until its streams are idle (native/src/fork_guard.cc).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runIsolated } from "./isolated.ts";

describe("fork while computing", () => {
  test("spawning processes while a threaded matrix product runs neither hangs nor changes the result", () => {
    const outcome = runIsolated(
      `
      const { spawnSync } = await import("node:child_process");
      const a = mx.divide(mx.random.normal([768, 768], { key: mx.random.key(1) }), 28);
      mx.eval(a);
      const chain = () => { let x = a; for (let i = 0; i < 30; i++) x = mx.matmul(x, a); return mx.sum(mx.abs(x)); };
      const quiet = chain().item();
      const x = chain();
      mx.scheduleEval(x);
      const children = [];
      for (let i = 0; i < 4; i++) children.push(spawnSync("true").status);
      return { children, same: x.item() === quiet };
      `,
      // Two OpenBLAS threads, so that the product runs threaded whatever the machine's setting;
      // a hang shows as the timeout (the work takes a few seconds).
      { env: { OPENBLAS_NUM_THREADS: "2" }, timeoutMs: 120_000 },
    );
    assert.equal(outcome.error, undefined);
    assert.deepEqual(outcome.value, { children: [0, 0, 0, 0], same: true });
  });
});
