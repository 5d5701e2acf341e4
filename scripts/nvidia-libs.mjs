// The NVIDIA runtime libraries a CUDA build of libmlx loads (cuBLAS, cuDNN, NCCL, cuFFT, ...).
//
// libmlx's RPATH looks for them as pip packages installed beside it ($ORIGIN/../../nvidia/<name>/lib),
// so the cache folder holding mlx/ gets an nvidia/ folder, one of two ways:
// - by default, the wheels named by the MLX wheel's Requires-Dist (and what they need) are fetched
//   with `pip download` and unpacked there: no Python environment is touched;
// - with MLUX_NVIDIA_LIBS=/path/to/site-packages, that environment's nvidia/ folder is linked there,
//   once its installed versions are checked against the same Requires-Dist (PyTorch's CUDA wheels
//   usually bring them all).

import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";

/** The requirements in a wheel's METADATA (extras-only ones left out), as { name, spec }. */
export function requiredDists(metadataText) {
  const out = [];
  for (const line of metadataText.split(/\r?\n/)) {
    if (!line.startsWith("Requires-Dist:")) continue;
    const [requirement, marker] = line.slice("Requires-Dist:".length).split(";");
    if (marker?.includes("extra")) continue;
    const match = /^\s*([A-Za-z0-9._-]+)\s*(?:\[[^\]]*\])?\s*(.*)$/.exec(requirement);
    if (match) out.push({ name: match[1], spec: match[2].replace(/[()\s]/g, "") });
  }
  return out;
}

/** pip's normalized project name, as written in a .dist-info folder's name. */
const distName = (name) => name.toLowerCase().replace(/[-_.]+/g, "_");

function compareVersions(a, b) {
  const pa = a.split(".").map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Whether `version` satisfies a PEP 440 specifier list of the plain kinds wheels use ("==13.*,>=1"). */
export function satisfies(version, spec) {
  if (!spec) return true;
  return spec.split(",").every((clause) => {
    const m = /^(==|!=|>=|<=|~=|>|<)([^=<>!~].*)$/.exec(clause);
    if (!m) throw new Error(`mlux: cannot read the version requirement "${clause}"`);
    const [, op, wanted] = m;
    if (op === "==" || op === "!=") {
      const equal = wanted.endsWith(".*")
        ? `${version}.`.startsWith(wanted.slice(0, -1))
        : compareVersions(version, wanted) === 0;
      return op === "==" ? equal : !equal;
    }
    const c = compareVersions(version, wanted);
    if (op === ">=") return c >= 0;
    if (op === "<=") return c <= 0;
    if (op === ">") return c > 0;
    if (op === "<") return c < 0;
    // ~=X.Y means >=X.Y and ==X.*
    const prefix = wanted.split(".").slice(0, -1).join(".");
    return c >= 0 && `${version}.`.startsWith(`${prefix}.`);
  });
}

/** The installed version of each distribution in a site-packages folder, by normalized name. */
export function installedDists(sitePackages) {
  const found = new Map();
  for (const entry of readdirSync(sitePackages)) {
    if (!entry.endsWith(".dist-info")) continue;
    const stem = entry.slice(0, -".dist-info".length);
    const dash = stem.lastIndexOf("-");
    if (dash > 0) found.set(distName(stem.slice(0, dash)), stem.slice(dash + 1));
  }
  return found;
}

/** Each requirement the site-packages folder does not meet, as a line saying what is there. */
export function unmetRequirements(requirements, sitePackages) {
  const installed = installedDists(sitePackages);
  const unmet = [];
  for (const { name, spec } of requirements) {
    const version = installed.get(distName(name));
    if (version === undefined) unmet.push(`${name}${spec} (not installed)`);
    else if (!satisfies(version, spec)) unmet.push(`${name}${spec} (found ${version})`);
  }
  return unmet;
}

/**
 * What the CUDA wheels need beyond their Requires-Dist: MLX compiles some kernels at run time
 * (quantized matrix products, for one) with NVRTC, and their source includes crt/mma.h, which CUDA 13
 * ships in a wheel of its own that mlx-cuda-13 does not name. Without it those kernels fail with
 * "cannot open source file crt/mma.h".
 */
export const RUNTIME_COMPILE_HEADERS = {
  cuda13: [{ name: "nvidia-cuda-crt", spec: "==13.*" }],
  cuda12: [],
};

function linkEnvironment(sitePackagesArg, requirements, headers, dest) {
  const sitePackages = resolve(sitePackagesArg);
  if (!existsSync(join(sitePackages, "nvidia"))) {
    throw new Error(
      `mlux: MLUX_NVIDIA_LIBS=${sitePackagesArg} has no nvidia/ folder; point it at the site-packages of a Python ` +
        "environment with the NVIDIA CUDA wheels installed (python -c 'import site; print(site.getsitepackages())')",
    );
  }
  const unmet = unmetRequirements(requirements, sitePackages);
  if (unmet.length > 0) {
    throw new Error(
      `mlux: MLUX_NVIDIA_LIBS=${sitePackagesArg} lacks what the MLX CUDA wheel needs: ${unmet.join(", ")}. ` +
        "Install those there, or unset MLUX_NVIDIA_LIBS to have them downloaded into .mlx/",
    );
  }
  const missingHeaders = unmetRequirements(headers, sitePackages);
  if (missingHeaders.length > 0) {
    console.warn(
      `mlux: warning: MLUX_NVIDIA_LIBS=${sitePackagesArg} lacks ${missingHeaders.join(", ")}: kernels MLX compiles at ` +
        `run time (quantized matrix products) will fail until it is installed there (pip install "${headers
          .map(({ name, spec }) => `${name}${spec}`)
          .join(" ")}")`,
    );
  }
  const link = join(dest, "nvidia");
  if (existsSync(link) || isLink(link)) rmSync(link, { recursive: true, force: true });
  symlinkSync(join(sitePackages, "nvidia"), link, "dir");
  return `linked from ${sitePackages}`;
}

const isLink = (path) => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

function downloadWheels(python, requirements, dest, run) {
  const wheels = join(dest, ".nvidia-wheels");
  rmSync(wheels, { recursive: true, force: true });
  mkdirSync(wheels, { recursive: true });
  const reqs = requirements.map(({ name, spec }) => `${name}${spec}`);
  console.log(`mlux: fetching the NVIDIA libraries MLX needs with pip (several GB): ${reqs.join(" ")}`);
  // With dependencies: cuSOLVER, for one, needs cuSPARSE and nvJitLink at run time.
  run(python, ["-m", "pip", "download", "--quiet", "--only-binary=:all:", "-d", wheels, ...reqs]);
  const link = join(dest, "nvidia");
  if (isLink(link)) rmSync(link);
  for (const wheel of readdirSync(wheels).filter((f) => f.endsWith(".whl"))) {
    run(python, ["-m", "zipfile", "-e", join(wheels, wheel), dest]);
  }
  rmSync(wheels, { recursive: true, force: true });
  return "downloaded";
}

/**
 * Gives the unpacked MLX CUDA wheel in `dest` the NVIDIA libraries it needs, once (a stamp file
 * remembers where they came from; a new MLUX_NVIDIA_LIBS replaces them).
 */
export function provideNvidiaLibs({ dest, distInfo, headers = [], python, run, env = process.env }) {
  const requirements = requiredDists(readFileSync(join(distInfo, "METADATA"), "utf8"));
  const source = env.MLUX_NVIDIA_LIBS ? `env ${resolve(env.MLUX_NVIDIA_LIBS)}` : "download";
  const stamp = join(dest, ".nvidia-complete");
  const done = existsSync(stamp) && existsSync(join(dest, "nvidia")) ? readFileSync(stamp, "utf8").trim() : null;
  // Libraries already in place stay, whichever way they came, unless MLUX_NVIDIA_LIBS names another source.
  if (done !== null && (!env.MLUX_NVIDIA_LIBS || done === source)) return;
  rmSync(stamp, { force: true });
  const how = env.MLUX_NVIDIA_LIBS
    ? linkEnvironment(env.MLUX_NVIDIA_LIBS, requirements, headers, dest)
    : downloadWheels(python, [...requirements, ...headers], dest, run);
  console.log(`mlux: NVIDIA libraries ${how}`);
  writeFileSync(stamp, `${source}\n`);
}
