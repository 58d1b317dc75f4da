"""Readable figures of the knowledge-transfer study from its committed logs.

    python3 docs/measurements/transfer/plot_curves.py   # needs matplotlib

Writes, beside this file:
- bns_vs_reference.png: L_BNS (eq. 4) of the fakes per generator step, the
  shared source estimate (200 steps) and then the SFDA adaptations of the
  grid, against the real-image reference and twice it;
- transfer_only_curves.png: source-val mIoU of the fresh students during
  transfer only, against the source model and half of it.
"""

import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_MIOU = 55.82


def load(path):
    with open(path) as f:
        return json.load(f)


def bns_figure():
    est = load(os.path.join(HERE, "sfda-grid/estimate/train_log.json"))
    meta = load(os.path.join(HERE, "sfda-grid/estimate/meta.json"))
    ref = meta["reference_bns"]
    fig, ax = plt.subplots(figsize=(10, 5))
    # `bns` is eq. 4 here (default options); `bns_eq4` is logged every 10th step.
    steps = [r["step"] for r in est]
    ax.plot(steps, [r.get("bns_eq4", r["bns"]) for r in est], color="black", lw=1.2,
            label="source estimate (L_BNS alone, seed 0)")
    colours = {"full": "tab:blue", "mild_0_1": "tab:green", "mild_0_2": "tab:olive",
               "no_dad": "tab:orange", "no_ipsm": "tab:purple"}
    done = set()
    for run in sorted(glob.glob(os.path.join(HERE, "sfda-grid/runs/*"))):
        name = os.path.basename(run)
        study = name.split("--")[0]
        if study not in colours:
            continue
        log = load(os.path.join(run, "train_log.json"))
        pts = [(r["step"], r["g_bns"]) for r in log if "g_bns" in r]
        if not pts:
            continue
        label = study if study not in done else None
        done.add(study)
        ax.plot([len(est) + s for s, _ in pts], [v for _, v in pts],
                color=colours[study], lw=0.6, alpha=0.7, label=label and f"SFDA {label} (each seed)")
    ax.axhline(ref, color="red", ls="--", label=f"real source val images: {ref:.2f}")
    ax.axhline(2 * ref, color="red", ls=":", label=f"2 x real: {2 * ref:.2f}")
    ax.axvline(len(est), color="grey", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("generator step (1-200: estimation; after: one per SFDA iteration)")
    ax.set_ylabel("L_BNS, eq. 4 (log scale)")
    ax.set_title("Fakes against the teacher's BN statistics: demo source model, fakes 256x128, batch 8")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "bns_vs_reference.png"), dpi=110)


def transfer_figure():
    fig, ax = plt.subplots(figsize=(9, 5))
    colours = {"bnsdad": "tab:blue", "bns": "tab:green", "dad": "tab:red"}
    names = {"bnsdad": "BNS+DAD", "bns": "BNS alone", "dad": "DAD alone"}
    for run in sorted(glob.glob(os.path.join(HERE, "transfer-only/tr-*"))):
        variant, seed = os.path.basename(run)[3:].rsplit("-s", 1)
        log = load(os.path.join(run, "train_log.json"))
        pts = [(r["step"], r["val_miou"]) for r in log if "val_miou" in r]
        rep = load(os.path.join(run, "report.json"))
        final = rep["after"]["metrics"]["miou"] * 100
        pts.append((rep["iterations"], final))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3,
                color=colours[variant], label=f"{names[variant]}, seed {seed}: {final:.2f}")
    ax.axhline(SOURCE_MIOU, color="black", ls="--", label=f"source model: {SOURCE_MIOU}")
    ax.axhline(SOURCE_MIOU / 2, color="black", ls=":", label="50 % of the source model")
    ax.set_xlabel("student step (after 200 estimation steps; none for DAD alone)")
    ax.set_ylabel("mIoU on source val (%)")
    ax.set_title("Transfer only into a new deeplabv3-mini (no source or target image)")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "transfer_only_curves.png"), dpi=110)


if __name__ == "__main__":
    bns_figure()
    transfer_figure()
