// `npm install` runs this: find or fetch MLX (scripts/mlx-setup.mjs), then build the addon with
// node-gyp against it, with an rpath so no library path needs setting at run time.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { repoRoot, setupMlx } from "./mlx-setup.mjs";

const mlx = setupMlx();

// Link order matters on Linux: the GEMM shim comes before libmlx so that libmlx's cblas_*gemm
// references resolve to it (the addon's own dependency list is searched in order).
const libraries = [];
if (mlx.gemmShim) {
  const dir = dirname(mlx.gemmShim);
  libraries.push("-Wl,--no-as-needed", `-L${dir}`, "-lmlux_gemm", `-Wl,-rpath,${dir}`);
}
libraries.push(`-L${mlx.lib}`, "-lmlx", `-Wl,-rpath,${mlx.lib}`);

const gypi = {
  variables: {
    mlx_include: mlx.include,
    mlx_libraries: libraries,
  },
  target_defaults: {
    defines: [
      `MLUX_MLX_VERSION="${mlx.version}"`,
      `MLUX_MLX_BACKEND="${mlx.backend}"`,
      `MLUX_GEMM_SHIM=${mlx.gemmShim ? 1 : 0}`,
    ],
  },
};
const gypiPath = join(repoRoot, "native/mlx-paths.gypi");
const gypiText = `${JSON.stringify(gypi, null, 2)}\n`;
// make does not see changed defines or libraries: a build for another MLX starts clean.
const switched = existsSync(gypiPath) && readFileSync(gypiPath, "utf8") !== gypiText;
writeFileSync(gypiPath, gypiText);

// Build against the headers of the running Node when they are installed beside it, so node-gyp
// does not try to download them.
const nodePrefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(nodePrefix, "include/node/node_api.h")) ? [`--nodedir=${nodePrefix}`] : [];
const require = createRequire(import.meta.url);
const gyp = require.resolve("node-gyp/bin/node-gyp.js");
const jobs = process.env.JOBS ?? "max";
// configure + build rather than rebuild: configure picks up new source files, and make then
// recompiles only what changed.
for (const step of [...(switched ? [["clean"]] : []), ["configure", ...nodedir], ["build", `--jobs=${jobs}`]]) {
  execFileSync(process.execPath, [gyp, ...step], { cwd: repoRoot, stdio: "inherit" });
}
