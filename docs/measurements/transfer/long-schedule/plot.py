"""Source-val mIoU of the fresh students during transfer only: the
2000-step schedule (3 seeds) against the old 1000-step one (seed 0).

    python3 docs/measurements/transfer/long-schedule/plot.py   # needs matplotlib

Writes long_schedule.png beside this file from the committed train logs.
"""

import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_MIOU = 56.24  # the demo source model on source val (this machine)


def curve(log, final):
    with open(log) as f:
        recs = json.load(f)
    pts = [(r["step"], r["val_miou"]) for r in recs if "val_miou" in r]
    with open(final) as f:
        rep = json.load(f)
    pts.append((rep["iterations"], rep["after"]["metrics"]["miou"] * 100))
    return [0] + [p[0] for p in pts], [0.0] + [p[1] for p in pts]


fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
for d in sorted(glob.glob(os.path.join(HERE, "bns-dad-2000-s*"))):
    seed = d.rsplit("-s", 1)[1]
    x, y = curve(os.path.join(d, "train_log.json"), os.path.join(d, "report.json"))
    ax.plot(x, y, marker="o", label=f"2000 steps, seed {seed}")
old = os.path.join(HERE, "..", "generator-variants", "transfer-base-s0")
x, y = curve(os.path.join(old, "train_log.json"), os.path.join(old, "report.json"))
ax.plot(x, y, marker="s", color="grey", label="1000 steps (old preset), seed 0")
ax.axhline(SOURCE_MIOU, color="black", lw=0.8, ls="--", label="source model")
ax.axhline(SOURCE_MIOU / 2, color="red", lw=0.8, ls=":", label="50 % of the source model")
ax.set_xlabel("student step (after 200 estimation steps)")
ax.set_ylabel("mIoU on source val")
ax.set_title("Fresh-student transfer only (BNS+DAD), deeplabv3-mini")
ax.set_ylim(0, 60)
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
fig.savefig(os.path.join(HERE, "long_schedule.png"))
print("wrote", os.path.join(HERE, "long_schedule.png"))

# The three variants at 2000 steps, one colour per variant, one line per seed
# (ablations.png; BNS alone and DAD alone from VARIANT=bns / dad runs).
fig, ax = plt.subplots(figsize=(9, 4.2), dpi=120)
styles = {"bns-dad": ("C0", "BNS+DAD"), "bns": ("C1", "BNS alone"), "dad": ("C2", "DAD alone")}
for variant, (color, label) in styles.items():
    for d in sorted(glob.glob(os.path.join(HERE, f"{variant}-2000-s*"))):
        if not os.path.exists(os.path.join(d, "report.json")):
            continue
        seed = d.rsplit("-s", 1)[1]
        x, y = curve(os.path.join(d, "train_log.json"), os.path.join(d, "report.json"))
        ax.plot(x, y, color=color, marker="o", ms=3, label=f"{label}, seed {seed}")
ax.axhline(SOURCE_MIOU, color="black", lw=0.8, ls="--", label="source model")
ax.axhline(SOURCE_MIOU / 2, color="red", lw=0.8, ls=":", label="50 % of the source model")
ax.set_xlabel("student step (after 200 estimation steps)")
ax.set_ylabel("mIoU on source val")
ax.set_title("Fresh-student transfer only at 2000 steps: BNS+DAD, BNS alone, DAD alone")
ax.set_ylim(0, 60)
ax.grid(alpha=0.3)
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
fig.savefig(os.path.join(HERE, "ablations.png"))
print("wrote", os.path.join(HERE, "ablations.png"))
