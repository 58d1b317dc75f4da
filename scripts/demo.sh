#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh clone: provisions
# libtorch (once), builds the release binary and runs the main job.
# Extra arguments go to `sfda demo` (try `--help`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup-libtorch.sh >/dev/null
# Until the demo adaptation lands (issue 5), the main job lists and probes the backends.
cargo run --release --quiet -- backends --probe "$@"
