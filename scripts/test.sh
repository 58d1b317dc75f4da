#!/usr/bin/env bash
# The whole test suite, from a fresh clone: provisions libtorch (once), then
# runs every test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup-libtorch.sh >/dev/null
cargo test --workspace "$@"
