"""How well the classical digitizer names a 3x4 page's rhythm strip (``ecgdl.classical.rhythm``).

Renders pages with the rhythm strip as lead II, V1 and V5 (synthetic records, every pulse style) under several
degradation presets, reads them with the classical digitizer and prints, per preset and true lead, how often the
strip was named right, with each candidate's correlation: the figures behind ``rhythm_strip_lead``'s
``min_corr`` and ``margin``.

    python scripts/calibrate_rhythm.py                 # 3 pages per (preset, lead), seed 3003
    python scripts/calibrate_rhythm.py --pages 6 --presets clean photo
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import ecgdl.classical.rhythm as rhythm_module
from ecgdl.aug import load_preset
from ecgdl.classical import ClassicalDigitizer
from ecgdl.render.renderer import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg

LEADS = ("II", "V1", "V5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=3, help="pages per (preset, rhythm lead)")
    parser.add_argument("--presets", nargs="+", default=["clean", "scan", "photo", "stained", "damaged"])
    parser.add_argument("--seed", type=int, default=3003)
    args = parser.parse_args()
    scores: dict = {}
    original = rhythm_module.rhythm_strip_lead

    def spy(strip, shorts, *a, **k):  # keep the candidates' correlations of the page being read
        lead, sc = original(strip, shorts, *a, **k)
        scores.update(sc)
        return lead, sc

    rhythm_module.rhythm_strip_lead = spy  # rhythm_relabelled looks it up here
    reader = ClassicalDigitizer()
    rows = []
    seeds = np.random.SeedSequence(args.seed).spawn(len(args.presets) * len(LEADS) * args.pages)
    k = 0
    for preset in args.presets:
        degrade = load_preset(preset)
        for lead in LEADS:
            for i in range(args.pages):
                rng = np.random.default_rng(seeds[k])
                k += 1
                image, truth = render_ecg(
                    generate_ecg(rng, 500.0),
                    RenderConfig(layout=f"3x4+{lead}", pulse=("none", "start", "end")[i % 3]),
                    rng,
                )
                image, _ = degrade(image, truth, rng)
                scores.clear()
                try:
                    read = reader.digitize(image, 500.0, 5000).meta["layout"]
                except Exception as exc:  # a page the reader cannot read: counted as not named
                    read = f"failed ({type(exc).__name__})"
                rows.append(
                    {"preset": preset, "true": lead, "read": read, **{f"r_{c}": scores.get(c) for c in LEADS}}
                )
    table = pd.DataFrame(rows)
    table["right"] = table["read"] == "3x4+" + table["true"]
    print(table.round(3).to_string())
    print("\nnamed right:")
    print(table.groupby(["true"])["right"].agg(["sum", "count"]).to_string())
    own = table[table["true"] == "II"]
    worst = (own[["r_V1", "r_V5"]].max(axis=1) - own["r_II"]).max()
    print(f"\nII strips: another lead matched at most {worst:+.3f} better than II")
    true_r = table.apply(lambda r: r[f"r_{r['true']}"], axis=1)
    print(f"the true lead's match: min {np.nanmin(true_r):.3f}, median {np.nanmedian(true_r):.3f}")


if __name__ == "__main__":
    main()
