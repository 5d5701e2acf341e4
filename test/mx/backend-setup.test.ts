// The set-up's choice of MLX build (scripts/mlx-backend.mjs) and its check of the NVIDIA
// libraries a CUDA build needs (scripts/nvidia-libs.mjs), on faked machines and environments.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { chooseBackend, nvidiaDriverMajor } from "../../scripts/mlx-backend.mjs";
import { requiredDists, satisfies, unmetRequirements } from "../../scripts/nvidia-libs.mjs";

const noDriver = { hasKernelModule: () => false, smiDriverVersion: () => null };
const driver = (version: string | null) => ({ hasKernelModule: () => true, smiDriverVersion: () => version });

describe("choosing the MLX build", () => {
  test("Linux without an NVIDIA driver stays on cpu", () => {
    assert.equal(chooseBackend({ env: {}, platform: "linux", probe: noDriver }).name, "cpu");
  });

  test("a kernel module whose nvidia-smi does not answer stays on cpu", () => {
    assert.equal(nvidiaDriverMajor(driver(null)), null);
    assert.equal(chooseBackend({ env: {}, platform: "linux", probe: driver(null) }).name, "cpu");
    assert.equal(chooseBackend({ env: {}, platform: "linux", probe: driver("garbage") }).name, "cpu");
  });

  test("the driver's version picks the CUDA major it supports", () => {
    const pick = (v: string) => chooseBackend({ env: {}, platform: "linux", probe: driver(v) });
    assert.deepEqual(pick("580.159.04"), { name: "cuda13", wheel: "mlx-cuda-13", reason: "NVIDIA driver 580" });
    assert.equal(pick("550.54.15").name, "cuda12");
    assert.equal(pick("470.256.02").name, "cpu");
    assert.match(pick("470.256.02").reason, /older than CUDA 12 needs \(525\)/);
  });

  test("MLUX_BACKEND overrides the driver either way", () => {
    assert.equal(
      chooseBackend({ env: { MLUX_BACKEND: "cpu" }, platform: "linux", probe: driver("580.1") }).name,
      "cpu",
    );
    const asked = chooseBackend({ env: { MLUX_BACKEND: "cuda12" }, platform: "linux", probe: noDriver });
    assert.deepEqual(asked, { name: "cuda12", wheel: "mlx-cuda-12", reason: "MLUX_BACKEND" });
  });

  test("a wrong MLUX_BACKEND says which ones exist", () => {
    assert.throws(
      () => chooseBackend({ env: { MLUX_BACKEND: "cuda" }, platform: "linux", probe: noDriver }),
      /MLUX_BACKEND=cuda is not a backend; use one of cpu, cuda12, cuda13/,
    );
    assert.throws(
      () => chooseBackend({ env: { MLUX_BACKEND: "cuda13" }, platform: "darwin", probe: noDriver }),
      /not available on macOS/,
    );
  });

  test("macOS uses mlx-metal without asking for a driver", () => {
    const probe = {
      hasKernelModule: () => assert.fail("no driver probe on macOS"),
      smiDriverVersion: () => null,
    };
    assert.equal(chooseBackend({ env: {}, platform: "darwin", probe }).wheel, "mlx-metal");
  });
});

describe("the NVIDIA libraries of a CUDA wheel", () => {
  const metadata = [
    "Metadata-Version: 2.1",
    "Name: mlx-cuda-13",
    "Requires-Dist: nvidia-cudnn-cu13==9.*",
    "Requires-Dist: nvidia-nccl-cu13",
    "Requires-Dist: nvidia-cublas==13.*",
    "Requires-Dist: pytest; extra == 'dev'",
  ].join("\n");

  test("Requires-Dist is read without extras", () => {
    assert.deepEqual(requiredDists(metadata), [
      { name: "nvidia-cudnn-cu13", spec: "==9.*" },
      { name: "nvidia-nccl-cu13", spec: "" },
      { name: "nvidia-cublas", spec: "==13.*" },
    ]);
  });

  test("version specifiers", () => {
    assert.equal(satisfies("13.1.0.3", "==13.*"), true);
    assert.equal(satisfies("12.9.1.4", "==13.*"), false);
    assert.equal(satisfies("9.13.0.50", "==9.*"), true);
    assert.equal(satisfies("2.27.7", ""), true);
    assert.equal(satisfies("12.0.4", ">=12,<13"), true);
    assert.equal(satisfies("13.0", ">=12,<13"), false);
    assert.equal(satisfies("1.4.2", "~=1.4"), true);
    assert.throws(() => satisfies("1.0", "===1.0"), /cannot read the version requirement/);
  });

  test("a site-packages folder is checked against them, naming what is missing or too old", () => {
    const site = mkdtempSync(join(tmpdir(), "mlux-site-"));
    try {
      mkdirSync(join(site, "nvidia_cudnn_cu13-9.13.0.50.dist-info"));
      mkdirSync(join(site, "nvidia_cublas-12.9.1.4.dist-info"));
      assert.deepEqual(unmetRequirements(requiredDists(metadata), site), [
        "nvidia-nccl-cu13 (not installed)",
        "nvidia-cublas==13.* (found 12.9.1.4)",
      ]);
      mkdirSync(join(site, "nvidia_nccl_cu13-2.27.7.dist-info"));
      rmSync(join(site, "nvidia_cublas-12.9.1.4.dist-info"), { recursive: true });
      mkdirSync(join(site, "nvidia_cublas-13.1.0.3.dist-info"));
      assert.deepEqual(unmetRequirements(requiredDists(metadata), site), []);
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });
});
