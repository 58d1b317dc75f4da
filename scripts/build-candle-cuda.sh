#!/usr/bin/env bash
# Builds the sfda binary with the candle backend on CUDA (and tch on CUDA) on a
# machine without a CUDA toolkit or GPU: provisions nvcc and link stubs from
# PyPI (`scripts/setup-cuda-build.sh`), then builds into `target/cuda` so the
# CPU build in `target/` stays as it is. Extra arguments go to `cargo build`.
#
#   CUDA_COMPUTE_CAP   the GPU's compute capability the kernels are built for
#                      (default 90: H100/H200; 80 for A100, 89 for L4/L40)
#
# The binary needs the GPU machine's driver and CUDA 13 libraries at run time
# (`scripts/gpu-check.sh` puts the CUDA PyTorch install's on LD_LIBRARY_PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup-libtorch.sh >/dev/null
cuda_home="$(scripts/setup-cuda-build.sh)"
export CUDA_HOME="$cuda_home"
export PATH="$cuda_home/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cuda}"
start=$(date +%s)
cargo build --release -p sfda --features candle-cuda,cuda "$@"
echo "built $CARGO_TARGET_DIR/release/sfda with candle-cuda and cuda (compute capability $CUDA_COMPUTE_CAP) in $(($(date +%s) - start)) s"
