"""Leaderboard: collect metrics.json from single runs and multirun sweeps, rank, write csv/md/html."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ecgdl.leaderboard import collect_runs, main, results_table


def _run(
    folder: Path, metrics: dict, overrides: list[str] | None = None, hydra_at: Path | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if overrides is not None:
        hydra = (hydra_at or folder) / ".hydra"
        hydra.mkdir(parents=True, exist_ok=True)
        (hydra / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    _run(
        root / "single" / "2024-01-01",
        {"snr_db": 12.5, "rmse_mv": 0.1, "n_images": 10, "n_failed": 1},
        ["model=cnn"],
    )
    sweep = root / "multirun" / "2024-01-02" / "0"
    _run(
        sweep / "eval",  # metrics.json below the job folder: overrides found in a parent
        {
            "snr_db": 21.0,
            "rmse_mv": 0.05,
            "n_images": 10,
            "n_failed": 0,
            "per_type": {"clean": 25.0, "photo": 9.5},
            "model": "unet",
        },
        ["model=unet", "aug=heavy"],
        hydra_at=sweep,
    )
    _run(root / "broken", {"rmse_mv": 0.3, "n_images": 10})  # no snr_db -> last, labelled by path
    return root


def test_collect_runs_ranks(runs: Path) -> None:
    table = collect_runs(runs)
    assert list(table["run"]) == ["model=unet aug=heavy", "model=cnn", "broken"]
    assert list(table["rank"]) == [1, 2, 3]
    assert (
        table.loc[0, "aug"] == "heavy" and table.loc[0, "model"] == "unet" and table.loc[1, "model"] == "cnn"
    )
    assert table.loc[0, "per_type/clean"] == 25.0
    assert pd.isna(table.loc[2, "snr_db"])
    assert table.loc[0, "path"] == "multirun/2024-01-02/0/eval"


def test_cli_writes_three_files(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main([str(runs), "--out", str(out)]) == 0
    csv = pd.read_csv(out / "leaderboard.csv")
    assert csv.loc[0, "snr_db"] == 21.0
    md = (out / "leaderboard.md").read_text()
    assert md.index("model=unet aug=heavy") < md.index("model=cnn")
    page = (out / "leaderboard.html").read_text()
    assert "<script>" in page and "sortable" in page and 'class="bar"' in page and "photo" in page
    assert "http" not in page  # self-contained
    assert "model=cnn" in capsys.readouterr().out


def test_cli_help_and_errors(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert main([str(tmp_path)]) == 1  # nothing found
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope")])
    with pytest.raises(ValueError, match="does not exist"):
        collect_runs(tmp_path / "nope")


def test_results_table_is_model_by_set_and_degradation(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    _run(
        root / "0", {"snr_db": 20.0, "per_type": {"clean": 20.0}, "model": "cnn", "eval_set": "synth/kaggle"}
    )
    _run(root / "1", {"snr_db": 9.0, "per_type": {"photo": 9.0}, "model": "cnn", "eval_set": "synth/kaggle"})
    _run(
        root / "2",
        {"snr_db": 7.0, "per_type": {"photo": 7.0}, "model": "classical", "eval_set": "synth/kaggle"},
    )
    _run(
        root / "3",
        {"snr_db": 8.0, "per_type": {"photo": 8.0}, "model": "classical", "eval_set": "synth/kaggle"},
    )
    _run(root / "4", {"snr_db": 22.0, "model": "classical", "eval_set": "dev_eik_clean"})  # no per_type
    _run(root / "5", {"snr_db": 30.0})  # unnamed: left out
    table = results_table(collect_runs(root))
    assert list(table.index) == ["classical", "cnn"]  # mean 15.0 vs 14.5
    assert list(table.columns) == ["dev_eik_clean all", "synth/kaggle clean", "synth/kaggle photo"]
    assert table.loc["classical", "synth/kaggle photo"] == 8.0  # the better of two runs
    assert table.loc["cnn", "synth/kaggle clean"] == 20.0
    assert pd.isna(table.loc["classical", "synth/kaggle clean"])
    assert table.loc["classical", "dev_eik_clean all"] == 22.0
    assert main([str(root), "--out", str(tmp_path / "out")]) == 0
    md = (tmp_path / "out" / "results.md").read_text()
    assert "| classical | 22.00 |" in md
