#!/usr/bin/env python3
"""Per-method mIoU of the main study after the method seam, per seed, against
the rows of docs/results.md before it (mean +- std over seeds 0-2).

    python3 docs/measurements/method-seam/compare.py runs/paper-tables/cells
"""
import json, pathlib, statistics, subprocess, sys

# docs/results/results.json before the seam (commit 7057a5d), main study.
old = json.loads(subprocess.run(
    ["git", "show", "7057a5d:docs/results/results.json"],
    capture_output=True, check=True, text=True).stdout)
BEFORE = {r["entry"]: r["miou"] for st in old["studies"] if st["name"] == "main" for r in st["rows"]}
cells = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/paper-tables/cells")
rows = {}
for f in sorted(cells.glob("main--*.json")):
    d = json.loads(f.read_text())
    rows.setdefault(d["cell"]["entry"], []).append(
        (d["cell"]["seed"], 100 * d["metrics"]["miou"], d["seconds"]))
print("| method | seed 0 | seed 1 | seed 2 | mean ± std | before: seeds 0 / 1 / 2 | largest per-seed change | s/run |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
order = ["source_only", "minent", "maxsquare", "tent", "shot_im", "cbst", "dt_st", "hcl",
         "sfda_wo_ipsm", "sfda"]
for m in order:
    r = sorted(rows.get(m, []))
    if not r:
        continue
    v = [x[1] for x in r]
    mean = statistics.mean(v)
    std = statistics.stdev(v) if len(v) > 1 else 0.0
    seeds = [f"{x:.2f}" for x in v] + ["–"] * (3 - len(v))
    b = BEFORE.get(m)
    before = " / ".join(f"{x:.2f}" for x in b) if b else "new"
    diff = f"{max(abs(x - y) for x, y in zip(v, b)):.4f}" if b else "–"
    secs = statistics.mean(x[2] for x in r)
    print(f"| {m} | {' | '.join(seeds)} | {mean:.2f} ± {std:.2f} | {before} | {diff} | {secs:.0f} |")
