#!/usr/bin/env bash
# Estimate-only sweep of the generator variants of issue 13 (section 7 of
# ../README.md): each variant's config trains the generator on L_BNS alone
# from the demo source model and measures the fakes' L_BNS against real
# source val images at the same size and batch (the reference).
# Run from the repository root, one variant at a time (2 cores):
#   docs/measurements/transfer/generator-variants/run.sh [VARIANT...]
set -euo pipefail
here=docs/measurements/transfer/generator-variants
src=runs/demo/source/best.safetensors
steps=${STEPS:-200}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(base paper-width lr-1e-2 lr-0.1 lr-0.1-beta1-0.9 beta1-0.9 bns-l2 bns-layer-mean bns-channel-normalised fakes-4 fakes-16)
mkdir -p runs/estimate-variants
for v in "${variants[@]}"; do
  out=runs/estimate-variants/$v-$steps
  start=$(date +%s)
  rc=0
  ./target/release/sfda estimate-source --source "$src" --config "$here/$v.toml" \
    --steps "$steps" --bns-reference synth:source:val:64 --out "$out" --quiet --overwrite \
    > "$out.stdout" 2>&1 || rc=$?
  end=$(date +%s)
  mkdir -p "$here/$v-$steps"
  cp "$out.stdout" "$here/$v-$steps/stdout.txt"
  for f in report.md train_log.json; do
    [ -f "$out/$f" ] && cp "$out/$f" "$here/$v-$steps/"
  done
  echo "$v steps=$steps rc=$rc wall=$((end - start))s" >> "$here/wall-times.txt"
done
