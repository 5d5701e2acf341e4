// MLUX_DEVICE, read when mlux is imported: a bad value or a device this build lacks fails the
// import with an error that says what would be right; the process exits, it does not crash.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { mx } from "mlux";

const root = fileURLToPath(new URL("../..", import.meta.url));

function importWith(device: string): { status: number | null; signal: string | null; output: string } {
  const child = spawnSync(
    process.execPath,
    [
      "--conditions=mlux-source",
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      'import { mx } from "mlux"; console.log(mx.defaultDevice());',
    ],
    { cwd: root, env: { ...process.env, MLUX_DEVICE: device }, encoding: "utf8" },
  );
  return { status: child.status, signal: child.signal, output: `${child.stdout}${child.stderr}` };
}

test("MLUX_DEVICE=cpu makes the cpu the default device", () => {
  const r = importWith("cpu");
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /^cpu$/m);
});

test("a bad MLUX_DEVICE fails the import with the values it takes", () => {
  const r = importWith("tpu");
  assert.equal(r.signal, null, r.output);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /MLUX_DEVICE must be "cpu" or "gpu" \(or unset\), got "tpu"/);
});

test("MLUX_DEVICE=gpu on a build without a gpu says how to get one", { skip: mx.isAvailable("gpu") }, () => {
  const r = importWith("gpu");
  assert.equal(r.signal, null, r.output);
  assert.equal(r.status, 1, r.output);
  assert.match(r.output, /no gpu is available in this MLX build/);
});
