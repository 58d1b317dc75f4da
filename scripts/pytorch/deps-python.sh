#!/usr/bin/env bash
# Runs python3 with the PyTorch that scripts/setup-libtorch.sh put in
# .deps/torch-2.11.0 - the very libtorch build the tch backend links - on the
# CPU, so the comparison runs the same kernels (same version, same build) in
# both programs. Arguments go to python3.
#
# That folder is PyPI's torch 2.11.0 wheel installed with --no-deps. Its
# Python extension (torch/_C -> libtorch_python.so -> libtorch_cuda.so) names
# CUDA libraries (cuDNN, cuBLAS, cuFFT, cuSPARSE, NCCL, cuFile, NVSHMEM...)
# that only the GPU code calls. Instead of downloading them (gigabytes),
# this script builds once, into .deps/torch-cpu-stubs, a stub library per
# missing soname that defines the symbols libtorch references from it (each
# a function returning 0, with the symbol versions libtorch asks for), so
# the dynamic linker is satisfied. CPU tensors never reach those functions;
# torch.cuda.is_available() is False because the CUDA runtime finds no
# driver. Do not use this PyTorch on a GPU.
#
# A normal PyTorch install needs none of this: set PYTHON to its python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
deps="${TORCH_DEPS:-$root/.deps/torch-2.11.0}"   # the torch wheel's folder
stubs="${TORCH_STUBS:-$root/.deps/torch-cpu-stubs}"
if [ ! -d "$deps/torch/lib" ]; then
  echo "error: $deps not found; run scripts/setup-libtorch.sh first, or set PYTHON to a python with torch" >&2
  exit 1
fi
if [ ! -f "$stubs/.complete" ]; then
  rm -rf "$stubs.partial"
  mkdir -p "$stubs.partial"
  (
    cd "$stubs.partial"
    lib="$deps/torch/lib"
    for f in "$lib"/libtorch_cuda.so "$lib"/libtorch_python.so "$lib"/libtorch_nvshmem.so \
             "$lib"/libc10_cuda.so "$lib"/libtorch.so "$deps"/torch/_C*.so; do
      readelf --dyn-syms -W "$f" | awk '$7 == "UND" { print $8 }'
    done | sort -u > undefined.txt
    # soname, symbol version ("" = unversioned), name pattern for unversioned symbols
    while read -r soname version pattern; do
      [ "$version" = "-" ] && version=""
      if [ -n "$version" ]; then
        syms=$(grep "@$version\( \|$\)" undefined.txt | sed 's/@.*//' | sort -u || true)
      else
        syms=$(grep -v "@" undefined.txt | grep -E "$pattern" | sort -u || true)
      fi
      {
        echo "int sfda_stub_unused(void) { return 0; }"
        for s in $syms; do echo "int $s(void) { return 0; }"; done
      } > "$soname.c"
      if [ -n "$version" ]; then
        { echo "$version { global:"; for s in $syms; do echo "  $s;"; done
          echo "  sfda_stub_unused; local: *; };"; } > "$soname.map"
        gcc -shared -fPIC -w -o "$soname" "$soname.c" -Wl,-soname,"$soname" \
          -Wl,--version-script="$soname.map"
      else
        gcc -shared -fPIC -w -o "$soname" "$soname.c" -Wl,-soname,"$soname"
      fi
    done <<'EOF'
libcudnn.so.9 libcudnn.so.9 -
libcufft.so.12 libcufft.so.12 -
libcublasLt.so.13 libcublasLt.so.13 -
libcublas.so.13 libcublas.so.13 -
libcusparse.so.12 libcusparse.so.12 -
libnvshmem_host.so.3 NVSHMEM -
libcufile.so.0 - ^cuFile
libcusparseLt.so.0 - ^cusparseLt
libnccl.so.2 - ^p?nccl
libcurand.so.10 - ^curand
EOF
  )
  rm -rf "$stubs"
  mv "$stubs.partial" "$stubs"
  touch "$stubs/.complete"
fi
export LD_LIBRARY_PATH="$stubs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$deps${PYTHONPATH:+:$PYTHONPATH}"
exec "${DEPS_PYTHON:-python3}" "$@"
