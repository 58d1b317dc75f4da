#!/usr/bin/env bash
# Fresh-student transfer only (BNS+DAD, seed 0) from this session's demo
# source model: the shipped preset (eq. 4) against the unsquared-norm variant.
# Run from the repository root, one at a time:
#   docs/measurements/transfer/generator-variants/run_transfer.sh
set -euo pipefail
here=docs/measurements/transfer/generator-variants
for v in base bns-l2; do
  cfg=sfda-core/presets/transfer-only-fresh-demo.toml
  [ "$v" = base ] || cfg=$here/transfer-$v.toml
  out=runs/transfer-variants/$v-s0
  mkdir -p runs/transfer-variants
  start=$(date +%s)
  rc=0
  ./target/release/sfda adapt --source runs/demo/source/best.safetensors \
    --target-val synth:source:val:200 --config "$cfg" --seed 0 --out "$out" --quiet \
    > "$out.stdout" 2>&1 || rc=$?
  end=$(date +%s)
  mkdir -p "$here/transfer-$v-s0"
  cp "$out.stdout" "$here/transfer-$v-s0/stdout.txt"
  for f in report.md report.json train_log.json; do
    [ -f "$out/$f" ] && cp "$out/$f" "$here/transfer-$v-s0/"
  done
  echo "transfer $v s0 rc=$rc wall=$((end - start))s" >> "$here/wall-times.txt"
done
