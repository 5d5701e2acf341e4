// Which MLX backend wheel the addon builds against.
//
// MLUX_BACKEND=cpu|cuda12|cuda13 chooses on Linux. Left unset, Linux gets a CUDA build only when
// an NVIDIA driver is loaded and answers (the kernel module's /proc file exists and nvidia-smi
// reports a driver version); the driver's version picks the CUDA major it supports. Everything
// else (no driver, a driver that does not answer, a container without the GPU) stays on cpu.
// macOS always uses mlx-metal.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The wheel of each Linux backend, and the oldest driver its CUDA runtime accepts. */
export const LINUX_BACKENDS = {
  cpu: { wheel: "mlx-cpu", minDriver: null },
  cuda12: { wheel: "mlx-cuda-12", minDriver: 525 },
  cuda13: { wheel: "mlx-cuda-13", minDriver: 580 },
};

/**
 * The loaded NVIDIA driver's major version, or null when there is none that answers.
 * `probe` is injectable so the choice can be tested without a GPU.
 */
export function nvidiaDriverMajor(probe = defaultProbe) {
  if (!probe.hasKernelModule()) return null;
  const reported = probe.smiDriverVersion();
  if (reported === null) return null;
  const major = Number.parseInt(reported, 10);
  return Number.isInteger(major) && major > 0 ? major : null;
}

const defaultProbe = {
  hasKernelModule: () => existsSync("/proc/driver/nvidia/version"),
  smiDriverVersion() {
    try {
      const out = execFileSync("nvidia-smi", ["--query-gpu=driver_version", "--format=csv,noheader"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 15000,
      });
      return out.split("\n")[0].trim() || null;
    } catch {
      return null;
    }
  },
};

/**
 * Returns { name, wheel, reason } for this platform and environment.
 * `env`, `platform` and `probe` are parameters so tests can fake a machine.
 */
export function chooseBackend({ env = process.env, platform = process.platform, probe = defaultProbe } = {}) {
  const asked = env.MLUX_BACKEND?.trim();
  if (platform === "darwin") {
    if (asked && asked !== "metal") {
      throw new Error(`mlux: MLUX_BACKEND=${asked} is not available on macOS; unset it (macOS uses mlx-metal)`);
    }
    return { name: "metal", wheel: "mlx-metal", reason: "macOS" };
  }
  if (platform !== "linux") {
    throw new Error(
      `mlux: no MLX wheel for ${platform}; set MLX_ROOT to an MLX build (a folder with include/ and lib/)`,
    );
  }
  if (asked) {
    const backend = LINUX_BACKENDS[asked];
    if (!backend) {
      throw new Error(
        `mlux: MLUX_BACKEND=${asked} is not a backend; use one of ${Object.keys(LINUX_BACKENDS).join(", ")}`,
      );
    }
    return { name: asked, wheel: backend.wheel, reason: "MLUX_BACKEND" };
  }
  const driver = nvidiaDriverMajor(probe);
  if (driver === null) return { name: "cpu", wheel: "mlx-cpu", reason: "no NVIDIA driver found" };
  for (const name of ["cuda13", "cuda12"]) {
    if (driver >= LINUX_BACKENDS[name].minDriver) {
      return { name, wheel: LINUX_BACKENDS[name].wheel, reason: `NVIDIA driver ${driver}` };
    }
  }
  return {
    name: "cpu",
    wheel: "mlx-cpu",
    reason: `NVIDIA driver ${driver} is older than CUDA 12 needs (${LINUX_BACKENDS.cuda12.minDriver})`,
  };
}
