// The fuzzer (tools/fuzz) in the test suite: first that it sees what it looks for (a step that
// crashes or hangs on purpose is found, attributed to its program and shrunk to itself), then a
// fixed-seed campaign over the mx functions and mutated checkpoints that must find no crash and no
// hang. A longer campaign is `npm run fuzz` (tools/fuzz/README.md).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mx } from "mlux";
import { examine, runBatch, runCampaign, type Settings } from "../../tools/fuzz/campaign.ts";
import { opsOf } from "../../tools/fuzz/grammar.ts";
import type { MxProgram } from "../../tools/fuzz/program.ts";

const settings: Settings = { memoryLimit: 256 * 2 ** 20, programTimeoutMs: 5000, niceness: 0 };
const array = { array: { shape: [2], dtype: "float32", values: [1, 2] } };
const fine: MxProgram = { kind: "mx", steps: [{ op: "add", args: [array, { num: 1 }], read: "tolist" }] };

describe("the fuzzer", () => {
  test("finds a crash and a hang, names the program, and shrinks it to the step that fails", async () => {
    const work = mkdtempSync(join(tmpdir(), "mlux-fuzz-test-"));
    try {
      const crashing: MxProgram = {
        kind: "mx",
        steps: [
          { op: "multiply", args: [array, { num: 3 }], read: "eval" },
          { op: "canary.segfault", args: [], read: "none" },
          { op: "exp", args: [{ ref: 0 }], read: "tolist" },
        ],
      };
      const crash = await runBatch([fine, fine, crashing, fine], work, settings);
      assert.equal(crash.failed?.kind, "crash");
      assert.equal(crash.failed?.index, 2);
      assert.match(crash.failed?.ending ?? "", /SIGSEGV/);
      const { alone, shrunk } = await examine(crashing, "crash", work, settings);
      assert.equal(alone, true);
      assert.deepEqual(shrunk, { kind: "mx", steps: [{ op: "canary.segfault", args: [], read: "none" }] });

      const hanging: MxProgram = { kind: "mx", steps: [{ op: "canary.hang", args: [], read: "none" }] };
      const hang = await runBatch([fine, hanging], work, settings);
      assert.deepEqual([hang.failed?.kind, hang.failed?.index, hang.failed?.ending], ["hang", 1, "timeout"]);

      const clean = await runBatch([fine, fine], work, settings);
      assert.deepEqual([clean.failed, clean.finished], [undefined, 2]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("a fixed-seed campaign finds no crash and no hang", async (t) => {
    const report = await runCampaign({
      seed: "ci-1",
      ops: opsOf(mx as unknown as Record<string, unknown>),
      programs: 10000,
    });
    t.diagnostic(
      `seed ${report.seed}: ${report.programs} programs, ${report.calls} calls in ${report.batches} child processes, ` +
        `${report.seconds.toFixed(0)} s`,
    );
    assert.equal(report.programs, 10000);
    assert.ok(report.calls > 6000, `only ${report.calls} calls were made`);
    assert.deepEqual(
      report.findings.map(
        (f) => `${f.kind} at program ${f.index} (${f.ending}): ${JSON.stringify(f.shrunk)}\n${f.stderr}`,
      ),
      [],
    );
  });
});
