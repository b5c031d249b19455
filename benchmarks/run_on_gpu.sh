#!/usr/bin/env bash
# The GPU benchmarks in one go, cheapest first, each under its own time limit so that what finished
# is kept when a later one runs out of time.  Writes <name>-<gpu>.json and <name>.log into OUT_DIR.
#
#   benchmarks/run_on_gpu.sh OUT_DIR FASHION_MNIST_DIR [GPU_TAG]
#
# 1. fast_vs_plain_accuracy.py  plain fp32 loop vs the fast path, same seed, on Fashion-MNIST
# 2. pack_a_t.py                A and T through real Tune trials, packed on one GPU vs one after the other
# 3. train_throughput.py        images/s of the plain loop vs our trainer (eager and compiled), batch 128,
#                               with the paper-protocol projection using the packing ratio from 2.
# 4. scaling.py                 only with SCALING_SECONDS > 0: one network on 1, 2, 4, ... of the node's
#                               GPUs as data-parallel workers (images/s, accuracy per layout).
# 5. scaling.py --searches      only with SEARCHES_SECONDS > 0: compare --seeds 0,1,2 on digits one search
#                               after another vs side by side, CPU trials of 2 CPUs each (the node's 16
#                               CPUs hold six trials: three searches of two at once).
set -uo pipefail
out=${1:?OUT_DIR}; fmnist=${2:?FASHION_MNIST_DIR}; tag=${3:-gpu}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$(dirname "$here"):${PYTHONPATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.log"
cd "$here"

timeout 150 python3 fast_vs_plain_accuracy.py --data-dir "$fmnist" --out "$out/fast_vs_plain_accuracy-$tag.json" \
  2>&1 | tee "$out/fast_vs_plain_accuracy.log"
timeout 170 python3 pack_a_t.py --out "$out/pack_a_t-$tag.json" 2>&1 | tail -n 40 | tee "$out/pack_a_t.log"
ratio=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['packed_speedup'])" \
  "$out/pack_a_t-$tag.json" 2>/dev/null || echo 1.0)
timeout "${THROUGHPUT_SECONDS:-300}" python3 train_throughput.py --batch-sizes 128 --pack-ratio "$ratio" \
  --out "$out/train_throughput-$tag.json" 2>&1 | tail -n 60 | tee "$out/train_throughput.log"
if [ "${SCALING_SECONDS:-0}" -gt 0 ]; then
  workers=$(python3 -c "import torch; n = torch.cuda.device_count(); \
print(','.join(str(2 ** k) for k in range(8) if 2 ** k <= n))")
  timeout "$SCALING_SECONDS" python3 scaling.py --workers "$workers" --dataset idx --data-dir "$fmnist" \
    --depths 9-9-9 --epochs 3 --batch-size 512 --out "$out/scaling-$tag.json" 2>&1 | tail -n 30 \
    | tee "$out/scaling.log"
fi
if [ "${SEARCHES_SECONDS:-0}" -gt 0 ]; then
  timeout "$SEARCHES_SECONDS" python3 scaling.py --searches --seeds 0,1,2 --compare-args \
    "--iterations 1 --epochs 2 --cpus-per-trial 2 --gpus-per-trial 0" \
    --out "$out/scaling-searches-$tag.json" 2>&1 | tail -n 30 | tee "$out/scaling-searches.log"
fi
