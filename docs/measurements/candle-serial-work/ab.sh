#!/usr/bin/env bash
# Alternates two sfda binaries on `sfda bench --backend candle` (default
# threads, then one thread), ROUNDS rounds; prints one line per run.
# Usage: ab.sh BEFORE_BIN AFTER_BIN [ROUNDS] [ITERS]
set -euo pipefail
before=$1 after=$2 rounds=${3:-2} iters=${4:-4}
for r in $(seq "$rounds"); do
  for threads in default 1; do
    for bin in "$before" "$after"; do
      if [ "$threads" = 1 ]; then env=(SFDA_THREADS=1); else env=(); fi
      line=$(env "${env[@]}" "$bin" bench --backend candle --iters "$iters" 2>/dev/null | grep '^candle')
      echo "round $r threads $threads $(basename "$bin"): $line"
    done
  done
done
