#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh clone: provisions
# libtorch (once), builds the release binary and runs `sfda demo` (generate
# the two-domain benchmark, train or reuse the small source model, adapt it
# source-free, print the before/after table). Extra arguments go to
# `sfda demo` (try `--help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup-libtorch.sh >/dev/null
cargo run --release --quiet -- demo "$@"
