// Finds or fetches the MLX C++ library the addon links against.
//
// Default: the pinned PyPI backend wheel (mlx-cpu on Linux, mlx-metal on macOS; mlx-cuda-12 or
// mlx-cuda-13 where scripts/mlx-backend.mjs finds an NVIDIA driver or MLUX_BACKEND asks for one),
// fetched with `pip download` into a project-local cache and unpacked there; no Python environment
// is touched. A CUDA wheel also needs NVIDIA's runtime libraries: scripts/nvidia-libs.mjs.
// MLX_ROOT=/path/to/mlx points at any other build (Homebrew, source): a folder holding
// include/mlx/mlx.h and lib/libmlx.{so,dylib}.
//
// On Linux the wheel's libmlx calls cblas_{s,d,c}gemm from the reference BLAS it bundles, which is
// ~50x slower than OpenBLAS. Unless MLUX_BLAS=reference, we also fetch the pinned scipy-openblas32
// wheel and build a three-function shim (native/blas/gemm_shim.c) that the addon loads ahead of
// libmlx, so libmlx's GEMM calls resolve to OpenBLAS. LAPACK keeps using the bundled libraries.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chooseBackend } from "./mlx-backend.mjs";
import { provideNvidiaLibs, RUNTIME_COMPILE_HEADERS } from "./nvidia-libs.mjs";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const pins = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).mlux;
export const cacheRoot = process.env.MLUX_CACHE_DIR ?? join(repoRoot, ".mlx");

const python = process.env.PYTHON ?? "python3";

function run(cmd, args) {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
}

/** pip-downloads one pinned wheel (no dependencies) and unpacks it into `dest`, once. */
function fetchWheel(requirement, dest) {
  const stamp = join(dest, ".complete");
  if (existsSync(stamp)) return;
  rmSync(dest, { recursive: true, force: true });
  const wheels = join(dest, ".wheel");
  mkdirSync(wheels, { recursive: true });
  console.log(`mlux: fetching ${requirement} with pip`);
  run(python, ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", wheels, requirement]);
  const listing = execFileSync(python, ["-c", "import glob,sys; print(glob.glob(sys.argv[1]+'/*.whl')[0])", wheels], {
    encoding: "utf8",
  }).trim();
  run(python, ["-m", "zipfile", "-e", listing, dest]);
  rmSync(wheels, { recursive: true, force: true });
  writeFileSync(stamp, `${requirement}\n`);
}

function buildGemmShim(openblasLib, outDir) {
  const out = join(outDir, "libmlux_gemm.so");
  if (existsSync(out)) return out;
  mkdirSync(outDir, { recursive: true });
  const cc = process.env.CC ?? "cc";
  run(cc, [
    "-O2",
    "-shared",
    "-fPIC",
    "-o",
    out,
    join(repoRoot, "native/blas/gemm_shim.c"),
    `-L${openblasLib}`,
    "-l:libscipy_openblas.so",
    `-Wl,-rpath,${openblasLib}`,
  ]);
  return out;
}

/**
 * Returns { root, include, lib, version, backend, gemmShim } for the MLX the addon builds against,
 * fetching the pinned wheel (and, for CUDA, NVIDIA's libraries) first if needed.
 */
export function setupMlx() {
  if (process.env.MLX_ROOT) {
    const root = resolve(process.env.MLX_ROOT);
    const include = join(root, "include");
    const lib = join(root, "lib");
    if (!existsSync(join(include, "mlx/mlx.h"))) {
      throw new Error(`mlux: MLX_ROOT=${root} has no include/mlx/mlx.h; point it at an installed MLX`);
    }
    return { root, include, lib, version: "external", backend: "external", gemmShim: null };
  }
  const backend = chooseBackend();
  console.log(`mlux: MLX backend ${backend.name} (${backend.reason}); MLUX_BACKEND=cpu|cuda12|cuda13 chooses`);
  const dest = join(cacheRoot, `${backend.wheel}-${pins.mlx}`);
  fetchWheel(`${backend.wheel}==${pins.mlx}`, dest);
  const root = join(dest, "mlx");
  if (backend.name.startsWith("cuda")) {
    const distInfo = join(dest, `${backend.wheel.replaceAll("-", "_")}-${pins.mlx}.dist-info`);
    provideNvidiaLibs({ dest, distInfo, headers: RUNTIME_COMPILE_HEADERS[backend.name], python, run });
  }
  let gemmShim = null;
  // The shim serves the CPU build's matrix products; a CUDA build does them on the GPU.
  if (backend.name === "cpu" && process.env.MLUX_BLAS !== "reference") {
    const blasDest = join(cacheRoot, `scipy-openblas32-${pins.scipyOpenblas32}`);
    fetchWheel(`scipy-openblas32==${pins.scipyOpenblas32}`, blasDest);
    gemmShim = buildGemmShim(join(blasDest, "scipy_openblas32/lib"), join(dest, "mlux_gemm"));
  }
  return {
    root,
    include: join(root, "include"),
    lib: join(root, "lib"),
    version: pins.mlx,
    backend: backend.name,
    gemmShim,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(setupMlx(), null, 2));
}
