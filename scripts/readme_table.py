"""The README's results table from a results folder (``bash scripts/results_table.sh`` calls it last).

Reads every ``metrics.json`` under the folder and writes one row per model, one column per set (the Kaggle
folders, each synthetic degradation preset, all layouts, the wild pages as a whole), as Markdown:

    python scripts/readme_table.py outputs/results > outputs/results/readme_table.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecgdl.aug import PRESETS, MixedDegradation, load_preset

COLUMNS = [
    ("dev_eik_clean", "dev_eik_clean", None),
    ("dev_eik_distorted", "dev_eik_distorted", None),
    ("ptbxl_thin", "ptbxl_thin", None),
    # one column per single preset (a mixture such as wild is a set of its own)
    *[
        (preset, "synth/kaggle", preset)
        for preset in PRESETS
        if not isinstance(load_preset(preset), MixedDegradation)
    ],
    ("synth/varied", "synth/varied", "clean"),
    ("varied+wild (48)", "varied_wild", "wild"),
    ("wild (48)", "wild", "wild"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    cells: dict[tuple[str, str], float] = {}
    models: list[str] = []
    for path in sorted(args.folder.rglob("metrics.json")):
        m = json.loads(path.read_text())
        model, eval_set, aug = m.get("model"), m.get("eval_set"), m.get("aug")
        if model is None or "snr_db" not in m:
            continue
        for name, want_set, want_aug in COLUMNS:
            if eval_set == want_set and (want_aug is None or aug == want_aug):
                cells[(model, name)] = float(m["snr_db"])
        if model not in models:
            models.append(model)
    order = [m for m in ("cnn", "classical") if m in models] + [
        m for m in models if m not in ("cnn", "classical")
    ]
    names = [c[0] for c in COLUMNS]
    best = {n: max((cells[(m, n)] for m in order if (m, n) in cells), default=None) for n in names}
    print("| model | " + " | ".join(names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for model in order:
        row = []
        for n in names:
            v = cells.get((model, n))
            row.append(
                "" if v is None else (f"**{v:.2f}**" if v == best[n] and len(order) > 1 else f"{v:.2f}")
            )
        print(f"| {model} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
