#!/usr/bin/env bash
# Fresh-student transfer only on a 2000-step student schedule instead of the
# old 1000 (the 1000-step curves still rise at the end), from the demo source
# model; same preset otherwise (200 estimation steps, lr 0.02 with poly decay
# over the whole schedule, eval every 250 steps).
# Run from the repository root, one at a time (default threads):
#   docs/measurements/transfer/long-schedule/run.sh [SEEDS...]             BNS+DAD
#   VARIANT=bns docs/measurements/transfer/long-schedule/run.sh [SEEDS...]  BNS alone
#   VARIANT=dad docs/measurements/transfer/long-schedule/run.sh [SEEDS...]  DAD alone
# BNS alone and DAD alone use the study's ablation configs
# (../transfer-only/config-{bns,dad}-alone.toml: the preset with
# [ablation] dad = false / bns = false, nothing else different).
set -euo pipefail
here=docs/measurements/transfer/long-schedule
seeds=${*:-0 1 2}
variant=${VARIANT:-bns-dad}
case "$variant" in
  bns-dad) config=sfda-core/presets/transfer-only-fresh-demo.toml; label="bns+dad" ;;
  bns) config=docs/measurements/transfer/transfer-only/config-bns-alone.toml; label="bns alone" ;;
  dad) config=docs/measurements/transfer/transfer-only/config-dad-alone.toml; label="dad alone" ;;
  *) echo "VARIANT must be bns-dad, bns or dad" >&2; exit 2 ;;
esac
sfda=${SFDA:-./target/release/sfda}
mkdir -p runs/long-schedule
for s in $seeds; do
  name=$variant-2000-s$s
  out=runs/long-schedule/$name
  start=$(date +%s)
  rc=0
  "$sfda" adapt --source runs/demo/source/best.safetensors \
    --target-val synth:source:val:200 --config "$config" \
    --iterations 2000 --seed "$s" --out "$out" --quiet --force > "$out.stdout" 2>&1 || rc=$?
  end=$(date +%s)
  mkdir -p "$here/$name"
  cp "$out.stdout" "$here/$name/stdout.txt"
  for f in report.md report.json train_log.json; do
    [ -f "$out/$f" ] && cp "$out/$f" "$here/$name/"
  done
  echo "$label 2000 s$s rc=$rc wall=$((end - start))s" >> "$here/wall-times.txt"
done
