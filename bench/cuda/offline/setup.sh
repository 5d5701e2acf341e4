# Sets up mlux on a CUDA machine with no network, from the parts bench/cuda/offline/pack.sh made,
# and the machine's own Python (its PyTorch environment's NVIDIA CUDA 13 libraries serve libmlx):
# MLX's CUDA libmlx and the Python MLX + mlx-lm into that Python's site-packages, a Node binary,
# the addon built for that libmlx, and a copy of the repository at $MLUX_WORK (default /tmp/mlux).
# The parts may come in separate transfers to the same machine; each must be moved out of the
# repository (to PARTS/1/part, PARTS/2/part, PARTS/3/part) as it arrives, since the next transfer
# replaces the repository's ignored folders. Then, from the repository root:
#   . bench/cuda/offline/setup.sh PARTS
# (in bash; in a script run by sh, whose `.` passes no arguments: set -- PARTS; . bench/cuda/offline/setup.sh)
set -e
parts=${1:-.device-work}
work=${MLUX_WORK:-/tmp/mlux}
pack=/tmp/mlux-pack
rm -rf "$pack" && mkdir -p "$pack" && cat "$parts"/1/part "$parts"/2/part "$parts"/3/part | tar x -C "$pack"
site=$(python3 -c 'import site; print(site.getsitepackages()[0])')
xz -dc "$pack"/libmlx.tar.xz | tar x -C "$site"
python3 -m pip install -q --no-index --no-deps --no-compile "$pack"/*.whl
mkdir -p /tmp/node-bin && xz -dc "$pack"/node.xz > /tmp/node-bin/node && chmod +x /tmp/node-bin/node
export PATH=/tmp/node-bin:$PATH
rm -rf "$work" && mkdir -p "$work"
tar cf - --exclude=./.device-work --exclude=./.git . | tar x -C "$work"
tar xJf "$pack"/nm.tar.xz -C "$work"
tar xJf "$pack"/src.tar.xz -C "$work"
mkdir -p "$work"/build/Release "$work"/.checkpoints && cp "$pack"/mlux.node "$work"/build/Release/
tar xJf "$pack"/checkpoints.tar.xz -C "$work"/.checkpoints
export MLUX_ORACLE_VENV=$(dirname "$(dirname "$(command -v python3)")")
# The tests' oracle asks scripts/mlx-setup.mjs for the GEMM shim; with MLX_ROOT it names the MLX installed
# above instead of downloading the wheel (no network here), and there is no shim on a CUDA build.
export MLX_ROOT="$site/mlx"
export MLUX_BENCH_COMMIT=$(cat "$pack"/commit)
set +e
