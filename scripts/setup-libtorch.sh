#!/usr/bin/env bash
# Provisions libtorch 2.11.0 (the version tch 0.24 expects) from PyPI into a
# project-local folder, `.deps/torch-2.11.0`, idempotently. No other host is
# needed: the PyPI `torch` wheel carries libtorch (headers + shared libraries);
# its CPU library also needs the CUDA runtime and CUPTI sonames, so those two
# small wheels are fetched too (they are loaded even when no GPU exists).
#
# Usage: scripts/setup-libtorch.sh        (prints the libtorch folder on success)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.deps/torch-2.11.0"
stamp="$dest/.complete"

if [ -f "$stamp" ]; then
  echo "$dest/torch"
  exit 0
fi

py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "error: $py not found. sfda provisions libtorch from PyPI and needs python3 with pip." >&2
  echo "       Install python3 and pip (e.g. 'apt-get install python3-pip'), or set LIBTORCH to an existing libtorch 2.11.0 folder." >&2
  exit 1
fi
if ! "$py" -m pip --version >/dev/null 2>&1; then
  echo "error: '$py -m pip' is not available. Install pip (e.g. 'apt-get install python3-pip' or '$py -m ensurepip')," >&2
  echo "       or set LIBTORCH to an existing libtorch 2.11.0 folder." >&2
  exit 1
fi

echo "sfda: installing libtorch 2.11.0 from PyPI into .deps/ (about 1.2 GB, once)..." >&2
tmp="$dest.partial"
rm -rf "$tmp"
mkdir -p "$tmp"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
  torch==2.11.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 >&2

if [ ! -f "$tmp/torch/lib/libtorch_cpu.so" ] || [ ! -d "$tmp/torch/include" ]; then
  echo "error: the torch wheel did not contain torch/lib/libtorch_cpu.so and torch/include" >&2
  exit 1
fi
rm -rf "$dest"
mv "$tmp" "$dest"
# Put the CUDA runtime and CUPTI sonames next to libtorch (relative links, so the
# folder can move) so that one rpath finds every library libtorch_cpu.so needs.
found=0
for lib in "$dest"/nvidia/*/lib/libcudart.so.13 "$dest"/nvidia/*/lib/libcupti.so.13; do
  [ -e "$lib" ] || continue
  ln -sfr "$lib" "$dest/torch/lib/$(basename "$lib")"
  found=$((found + 1))
done
if [ "$found" -lt 2 ]; then
  echo "error: libcudart.so.13 / libcupti.so.13 not found in the nvidia wheels under $dest/nvidia" >&2
  exit 1
fi
touch "$stamp"
echo "$dest/torch"
