#!/usr/bin/env bash
# The contention study of docs/performance.md: the demo-scale SFDA iteration
# beside 0, 1 and 3 busy processes, under the default thread policy (pools
# sized at start-up to the free cores) and with the pool fixed at every core
# (SFDA_THREADS=2 on the 2-core reference machine: the policy before).
# Run it on an otherwise idle machine: ./docs/measurements/contention/run.sh
set -eu
SFDA=${SFDA:-target/release/sfda}
OUT=${OUT:-docs/measurements/contention}
for backend in tch candle; do
  "$SFDA" bench --backend "$backend" --iters 5 --warmup 1 --compete 0,1,3 \
    | tee "$OUT/$backend-default.txt"
  SFDA_THREADS=$(nproc) "$SFDA" bench --backend "$backend" --iters 5 --warmup 1 --compete 0,1,3 \
    | tee "$OUT/$backend-fixed-all-cores.txt"
done
