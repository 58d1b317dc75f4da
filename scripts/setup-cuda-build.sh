#!/usr/bin/env bash
# Provisions what building the candle backend with CUDA needs, from PyPI, on a
# machine without a CUDA toolkit or GPU, into `.deps/cuda-13.0` (idempotent):
#
#   - nvcc 13.0 with its front end, nvvm (cicc, libdevice), the C runtime and
#     CCCL headers and the CUDA runtime (PyPI: nvidia-cuda-nvcc, -crt, nvidia-nvvm,
#     nvidia-cuda-cccl, nvidia-cuda-runtime; CUDA 13.0, the version of
#     libtorch's cu130 wheel): candle-kernels compiles its kernels with it;
#   - link stubs in `lib/stubs` for the libraries cudarc links against
#     (`libcuda`, `libnvrtc`, `libcurand`, `libcublas`, `libcublasLt`): one
#     empty function per symbol cudarc binds, with the real libraries'
#     sonames, as the CUDA toolkit's own `lib64/stubs/libcuda.so` does. They
#     only satisfy the linker; at run time the GPU machine's driver and CUDA
#     libraries are loaded (put them on LD_LIBRARY_PATH, as
#     `scripts/gpu-check.sh` does).
#
# Usage:
#   scripts/setup-cuda-build.sh                  # prints the folder (CUDA_HOME)
#   scripts/build-candle-cuda.sh                 # provisions, then builds
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.deps/cuda-13.0"
home="$dest/nvidia/cu13"
stamp="$dest/.complete"

if [ -f "$stamp" ]; then
  echo "$home"
  exit 0
fi

py="${PYTHON:-python3}"
if ! "$py" -m pip --version >/dev/null 2>&1; then
  echo "error: '$py -m pip' is not available; sfda provisions nvcc from PyPI and needs python3 with pip" >&2
  exit 1
fi
for tool in cc cargo; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' not found (nvcc needs a host C/C++ compiler; the stubs are built with cc)" >&2
    exit 1
  fi
done

echo "sfda: installing nvcc 13.0 and the CUDA headers from PyPI into .deps/ (about 280 MB, once)..." >&2
tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-cccl==13.0.85 nvidia-cuda-runtime==13.0.96 >&2
thome="$tmp/nvidia/cu13"
for f in bin/nvcc bin/ptxas nvvm/bin/cicc include/cuda_runtime.h include/cuda_fp16.h; do
  if [ ! -e "$thome/$f" ]; then
    echo "error: the nvidia wheels did not contain nvidia/cu13/$f" >&2
    exit 1
  fi
done
chmod +x "$thome"/bin/* "$thome"/nvvm/bin/* 2>/dev/null || true
if ! "$thome/bin/nvcc" --version | grep -q "release 13.0"; then
  echo "error: $thome/bin/nvcc does not run or is not CUDA 13.0" >&2
  exit 1
fi

# The symbols cudarc binds, from the cudarc sources cargo resolves for this
# workspace (the version in Cargo.lock).
(cd "$root" && cargo fetch --quiet)
cudarc_src="$(cd "$root" && cargo metadata --format-version 1 --all-features 2>/dev/null |
  "$py" -c 'import json, sys, os
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "cudarc"))')"
if [ ! -d "$cudarc_src/src/driver/sys" ]; then
  echo "error: the cudarc sources were not found (cargo metadata gave '$cudarc_src')" >&2
  exit 1
fi
stubs="$thome/lib/stubs"
mkdir -p "$stubs"
# module:library:soname (CUDA 13.0: libcublas.so.13, libcurand.so.10, ...)
for spec in driver:cuda:libcuda.so.1 nvrtc:nvrtc:libnvrtc.so.13 curand:curand:libcurand.so.10 \
  cublas:cublas:libcublas.so.13 cublaslt:cublasLt:libcublasLt.so.13; do
  IFS=: read -r module lib soname <<<"$spec"
  c="$tmp/stub-$lib.c"
  grep -ohE 'load::<_F>\("[A-Za-z0-9_]+"' "$cudarc_src/src/$module/sys/"*.rs |
    cut -d'"' -f2 | sort -u | sed 's/.*/void &(void) {}/' >"$c"
  if [ ! -s "$c" ]; then
    echo "error: no symbols found for $lib in $cudarc_src/src/$module/sys" >&2
    exit 1
  fi
  cc -shared -fPIC -Wl,-soname,"$soname" -o "$stubs/lib$lib.so" "$c"
  rm -f "$c"
done
# The linker looks for the unversioned name of the CUDA runtime (libtorch's
# CUDA library and cudarc link it); the wheel has only the soname.
ln -sf libcudart.so.13 "$thome/lib/libcudart.so"
rm -rf "$dest"
mv "$tmp" "$dest"
touch "$stamp"
echo "$home"
