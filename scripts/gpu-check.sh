#!/usr/bin/env bash
# The CUDA checks of sfda, as one script for a machine with an NVIDIA GPU and
# a CUDA build of PyTorch 2.11 (whose libtorch the binaries load):
#   1. tch on cuda:0 vs the CPU: forward + backward of every architecture,
#      same weights and input (`sfda backends --compare`);
#   2. one paper-scale SFDA iteration (DeepLabV3-ResNet50 and SegNet-VGG16,
#      512x256 targets, 256x128 fakes, batch 8) timed, with peak GPU memory;
#   3. the same DeepLabV3-ResNet50 iteration in sfda tch and in PyTorch eager
#      (scripts/pytorch/sfda_iteration.py), alternated, 3 rounds;
#   4. `sfda bench` at the demo scale on cuda:0, and on this machine's CPU;
#   5. the criterion DAD/IPSM benches on cuda:0, paper size included;
#   6. optional (SFDA_GPU_SWEEP=1): a source-training sweep of the demo net.
#
# Build here with both backends on CUDA and pass the binaries:
#   scripts/build-candle-cuda.sh        # target/cuda/release/sfda (nvcc from PyPI)
#   (export CUDA_HOME/PATH/CUDA_COMPUTE_CAP as that script does, then)
#   CARGO_TARGET_DIR=target/cuda cargo bench --no-run --features cuda,candle-cuda --bench dad_ipsm
#   scripts/gpu-check.sh path/to/sfda path/to/dad_ipsm OUTDIR
# Steps marked "candle" run only when the binary's candle reports `(cuda)`.
set -uo pipefail
sfda="$1"
benches="$2"
out="$3"
mkdir -p "$out"

torch_lib="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
nvidia_libs="$(ls -d "$torch_lib"/../../nvidia/*/lib 2>/dev/null | tr '\n' ':')"
export LD_LIBRARY_PATH="$torch_lib:$nvidia_libs${LD_LIBRARY_PATH:-}"

log() { echo "== $* ($(date +%T))"; }

log "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
nproc | tee -a "$out/gpu.txt"

log "backends"
"$sfda" backends --probe 2>&1 | tee "$out/backends.txt"

log "cpu vs cuda:0, mini nets at the demo size"
"$sfda" backends --compare cuda:0 --backend tch --batch 4 2>&1 | tee "$out/compare.txt"
log "cpu vs cuda:0, paper nets at 512x256"
"$sfda" backends --compare cuda:0 --backend tch --archs deeplabv3-resnet50,segnet-vgg16 \
  --size 512x256 --batch 2 2>&1 | tee -a "$out/compare.txt"

paper_iteration() { # preset arch
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 50 >"$out/mem-$2.txt" &
  local poll=$!
  "$sfda" bench --preset "$1" --arch "$2" --size 512x256 --backend tch --device cuda:0 \
    --iters 5 --warmup 2 2>&1 | tee "$out/bench-paper-$2.txt"
  kill "$poll" 2>/dev/null
  wait "$poll" 2>/dev/null
  echo "peak GPU memory used (nvidia-smi, MiB, includes the caching allocator's reserve): \
$(sort -n "$out/mem-$2.txt" | tail -1)" | tee -a "$out/bench-paper-$2.txt"
}
log "paper-scale iteration, DeepLabV3-ResNet50"
paper_iteration sfda-core/presets/gta5-cityscapes-deeplabv3.toml deeplabv3-resnet50
log "paper-scale iteration, SegNet-VGG16"
paper_iteration sfda-core/presets/gta5-cityscapes-segnet.toml segnet-vgg16

log "paper-scale iteration against PyTorch eager on cuda:0, 3 rounds alternated (issue 17)"
SFDA="$sfda" PYTHON=python3 CONFIGS="tch-cuda-paper pytorch-cuda-paper" WARMUP=2 \
  OUT="$out/pytorch-paper" scripts/pytorch/compare.sh 3 2>&1 | tee "$out/pytorch-paper.txt"

log "sfda bench, demo scale, cuda:0"
"$sfda" bench --backend tch --device cuda:0 --iters 20 --warmup 3 2>&1 | tee "$out/bench-demo-cuda.txt"
log "sfda bench, demo scale, this machine's CPU"
"$sfda" bench --backend all --device cpu --iters 3 2>&1 | tee "$out/bench-demo-cpu.txt"

if "$sfda" backends --probe 2>&1 | grep -q "candle.*(cuda)"; then
  log "candle: cpu vs cuda:0, mini nets at the demo size"
  "$sfda" backends --compare cuda:0 --backend candle --batch 4 2>&1 | tee "$out/compare-candle.txt"
  log "sfda bench, demo scale, both backends on cuda:0"
  "$sfda" bench --backend all --device cuda:0 --iters 20 --warmup 3 2>&1 | tee "$out/bench-demo-cuda-all.txt"
else
  log "candle was built without CUDA: its GPU steps are skipped"
fi

log "criterion DAD/IPSM on cuda:0"
SFDA_BENCH_DEVICES=cuda:0 "$benches" --bench --warm-up-time 0.5 --measurement-time 2 --noplot 2>&1 \
  | grep -vE '^\s*$|^Benchmarking|outliers|mild|severe|Warning|Gnuplot' | tee "$out/criterion-cuda.txt"

if [ "${SFDA_GPU_SWEEP:-0}" = 1 ]; then
  log "source-training sweep (deeplabv3-mini, 2000 images)"
  for cfg in "5000 0.02" "5000 0.05" "4000 0.05" "5000 0.1"; do
    set -- $cfg
    "$sfda" train-source --data synth:source:train:2000 --val synth:source:val:200 \
      --iterations "$1" --lr "$2" --val-every 1000 --device cuda:0 --quiet \
      --out "$(mktemp -d)" >"$out/sweep-$1-$2.txt" 2>&1 &
  done
  wait
  tail -n 3 "$out"/sweep-*.txt
fi
log "done"
