"""scripts/make_report.py's table of the wild pages per style and degradation: read from each model's
per_condition.csv, conditions every page shares left out, a model without a cell left blank."""

from __future__ import annotations

from pathlib import Path

from tests.unit.scripts import load_script


def _condition_table():
    return load_script("make_report").condition_table


def test_the_wild_table_lists_each_condition_that_varies(tmp_path: Path) -> None:
    rows = {
        "cnn": [("pulse", "end", 2, 5.94), ("pulse", "start", 3, 20.31), ("font", "sans", 5, 17.0)],
        "classical": [("pulse", "end", 2, 0.66), ("font", "sans", 5, 10.0)],
    }
    for model, cells in rows.items():
        run = tmp_path / "wild" / model / "0"
        run.mkdir(parents=True)
        lines = ["condition,value,n_images,snr_db", *(f"{c},{v},{n},{s}" for c, v, n, s in cells)]
        (run / "per_condition.csv").write_text("\n".join(lines) + "\n")
    table = _condition_table()(tmp_path)
    assert table[0] == "| condition | value | pages | cnn | classical |"
    assert table[2:] == ["| pulse | end | 2 | 5.9 | 0.7 |", "| pulse | start | 3 | 20.3 |  |"]
    assert _condition_table()(tmp_path / "nothing") == []
