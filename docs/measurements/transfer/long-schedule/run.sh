#!/usr/bin/env bash
# Fresh-student transfer only (BNS+DAD) on a 2000-step student schedule
# instead of the preset's 1000 (the 1000-step curves still rise at the end),
# from the demo source model; same preset otherwise (200 estimation steps,
# lr 0.02 with poly decay over the whole schedule, eval every 250 steps).
# Run from the repository root, one at a time (default threads):
#   docs/measurements/transfer/long-schedule/run.sh [SEEDS...]
set -euo pipefail
here=docs/measurements/transfer/long-schedule
seeds=${*:-0 1 2}
mkdir -p runs/long-schedule
for s in $seeds; do
  out=runs/long-schedule/bns-dad-2000-s$s
  start=$(date +%s)
  rc=0
  ./target/release/sfda adapt --source runs/demo/source/best.safetensors \
    --target-val synth:source:val:200 --config sfda-core/presets/transfer-only-fresh-demo.toml \
    --iterations 2000 --seed "$s" --out "$out" --quiet --force > "$out.stdout" 2>&1 || rc=$?
  end=$(date +%s)
  mkdir -p "$here/bns-dad-2000-s$s"
  cp "$out.stdout" "$here/bns-dad-2000-s$s/stdout.txt"
  for f in report.md report.json train_log.json loss_curves.txt; do
    [ -f "$out/$f" ] && cp "$out/$f" "$here/bns-dad-2000-s$s/"
  done
  echo "bns+dad 2000 s$s rc=$rc wall=$((end - start))s" >> "$here/wall-times.txt"
done
