# The measurements of a CUDA session, after bench/cuda/offline/setup.sh, from $MLUX_WORK (/tmp/mlux).
# Writes logs and results to $OUT (default /tmp/mlux-out) and prints a summary.
#   sh bench/cuda/offline/measure.sh diag        build/eval split of mlux and mlx-lm (diag.ts, diag.py)
#                                                and CPU profiles of mlux's decoding and prefilling
#   sh bench/cuda/offline/measure.sh bench [N]   bench/cuda/run.ts with N rounds (default 3); MLUX_CUDA_CPUS pins
#                                                every process to those CPUs
#   sh bench/cuda/offline/measure.sh placement   decoding of mlux and mlx-lm unpinned, then pinned to each
#                                                quarter of the CPUs in turn (does a core decide the speed?)
#   sh bench/cuda/offline/measure.sh tests       the hook tests, the layers' (activations) and the fixtures' parity
#   sh bench/cuda/offline/measure.sh tests-fp32  no-op hooks, the oracle's hooks, layers and fixtures, without
#                                                q4 checkpoints (no run-time compilation of quantized kernels)
#   sh bench/cuda/offline/measure.sh toolkit     the analysis toolkit's, the experiments' and generation's tests
#   sh bench/cuda/offline/measure.sh qmm         MLX's CUDA quantized_matmul and gather_qmm against its CPU
#                                                (bench/cuda/qmm_sweep.py, Python MLX alone)
out=${OUT:-/tmp/mlux-out}
# A later call on the same machine has lost what setup.sh exported: set it again.
if [ -x /tmp/node-bin/node ]; then export PATH="/tmp/node-bin:$PATH"; fi
export MLX_ROOT="${MLX_ROOT:-$(python3 -c 'import site; print(site.getsitepackages()[0])')/mlx}"
export MLUX_ORACLE_VENV="${MLUX_ORACLE_VENV:-$(dirname "$(dirname "$(command -v python3)")")}"
if [ -z "$MLUX_BENCH_COMMIT" ] && [ -f /tmp/mlux-pack/commit ]; then export MLUX_BENCH_COMMIT="$(cat /tmp/mlux-pack/commit)"; fi
mkdir -p "$out"
dir=/tmp/mlux-llama-1b-shaped-bf16
node_ts="node --conditions=mlux-source --import tsx"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,utilization.gpu --format=csv,noheader
if [ ! -f "$dir/model.safetensors" ]; then python3 bench/cuda/make_llama1b.py "$dir" > "$out/make.log" 2>&1 || exit 1; fi
case "$1" in
diag)
  $node_ts bench/cuda/diag.ts "$dir" | tee "$out/diag_mlux.json"
  python3 bench/cuda/diag.py "$dir" | tee "$out/diag_mlx_lm.json"
  mkdir -p "$out/prof"
  $node_ts --cpu-prof --cpu-prof-dir="$out/prof" bench/cuda/diag.ts "$dir" --decode-only
  mkdir -p "$out/prof-prefill"
  $node_ts --cpu-prof --cpu-prof-interval 100 --cpu-prof-dir="$out/prof-prefill" bench/cuda/diag.ts "$dir" --prefill-only
  ;;
bench)
  $node_ts bench/cuda/run.ts "${2:-3}" "$dir" 2>&1 | tee "$out/run.log"
  ;;
tests | tests-fp32 | toolkit)
  log=tests
  files="test/hooks/noop.test.ts test/hooks/activation-cache.test.ts test/hooks/patterns.test.ts test/hooks/oracle.test.ts
    test/hooks/runs.test.ts test/nn/layers.test.ts test/fixture-models/fixture-parity.test.ts"
  if [ "$1" = toolkit ]; then
    log=toolkit
    files="test/analysis/*.test.ts test/experiments/*.test.ts test/generate/*.test.ts"
  fi
  if [ "$1" = tests-fp32 ]; then
    export MLUX_HOOK_TESTS=fp32
    files="test/hooks/noop.test.ts test/hooks/oracle.test.ts test/fixture-models/fixture-parity.test.ts"
    node --conditions=mlux-source --import tsx --test --test-reporter=spec --test-name-pattern=activations \
      test/nn/layers.test.ts > "$out/activations.log" 2>&1
    echo "activations exit $?"
  fi
  # shellcheck disable=SC2086
  node --expose-gc --conditions=mlux-source --import tsx --test --test-concurrency=1 --test-reporter=spec $files \
    > "$out/$log.log" 2>&1
  echo "$log exit $?"
  grep -E "^ℹ (tests|pass|fail|skipped)|✖" "$out/$log.log" | head -40
  ;;
placement)
  nvidia-smi topo -m
  lscpu | grep -E "^(Model name|CPU\(s\)|Thread|Core|Socket|NUMA)"
  grep MHz /proc/cpuinfo | sort | uniq -c | sort -rn | head -5
  quarter=$(($(nproc) / 4))
  for set in all 0 1 2 3 all; do
    if [ "$set" = all ]; then pin=""; else pin="taskset -c $((set * quarter))-$((set * quarter + quarter - 1))"; fi
    for peer in mlux mlx-lm; do
      if [ $peer = mlux ]; then cmd="$node_ts bench/cuda/diag.ts $dir --decode-only"; else cmd="python3 bench/cuda/diag.py $dir --decode-only"; fi
      before=$(head -1 /proc/stat)
      # shellcheck disable=SC2086
      $pin $cmd > "$out/placement.tmp" 2>>"$out/placement.err"
      # The share of the machine's CPU time the hypervisor took (steal) while the process ran.
      steal=$(printf '%s\n%s\n' "$before" "$(head -1 /proc/stat)" | awk '{ for (i = 2; i <= 9; i++) { t[NR] += $i }; s[NR] = $9 }
        END { printf "%.1f%%", 100 * (s[2] - s[1]) / (t[2] - t[1]) }')
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["decode"]; print(sys.argv[2], sys.argv[3], round(d["tokensPerSecond"],1), "tok/s; graph", round(d["graphMs"],3), "build", round(d["buildMs"],3), "wait", round(d["waitMs"],3), "ms; steal", sys.argv[4])' \
        "$out/placement.tmp" "${pin:-unpinned}" $peer "$steal" | tee -a "$out/placement.txt"
    done
  done
  ;;
qmm)
  python3 bench/cuda/qmm_sweep.py | tee "$out/qmm.jsonl"
  ;;
*)
  echo "usage: measure.sh diag|bench [ROUNDS]|placement|tests|tests-fp32|toolkit|qmm" >&2
  exit 2
  ;;
esac
