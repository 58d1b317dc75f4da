"""L_BNS (eq. 4) per generator step of each generator variant, divided by
its real-image reference, from the committed logs:

    python3 docs/measurements/transfer/generator-variants/plot_variants.py   # needs matplotlib

Writes variants_bns.png beside this file. Variants run before eq. 4 was
logged on every warm-up step have it every 10th step (their `bns` is eq. 4:
default norm); the others every step.
"""

import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    fig, ax = plt.subplots(figsize=(11, 6))
    for d in sorted(glob.glob(os.path.join(HERE, "*-*/"))):
        name = os.path.basename(d.rstrip("/"))
        with open(os.path.join(d, "report.md")) as f:
            ref = float(re.search(r"reference L_BNS \| ([0-9.]+)", f.read()).group(1))
        with open(os.path.join(d, "train_log.json")) as f:
            log = json.load(f)
        pts = [(r["step"], r.get("bns_eq4", r["bns"]) / ref) for r in log]
        style = "--" if name.startswith("base") else "-"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, lw=1.3, label=name)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.axhline(2.0, color="grey", lw=0.8, ls=":")
    ax.text(5, 2.1, "2 x reference (the issue's bound)", color="grey")
    ax.text(5, 1.05, "real source images (reference)")
    ax.set_yscale("log")
    ax.set_ylim(0.3, 60)
    ax.set_xlabel("generator step (L_BNS alone)")
    ax.set_ylabel("L_BNS of the fakes / L_BNS of real source images")
    ax.set_title("Generator variants from the demo source model (estimate only, seed 0)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "variants_bns.png"), dpi=110)


if __name__ == "__main__":
    main()
