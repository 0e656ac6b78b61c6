"""Leaderboard: collect metrics.json from single runs and multirun sweeps, rank, write csv/md and the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np
import pandas as pd
import pytest

from ecgdl.constants import LEADS
from ecgdl.leaderboard import collect_runs, main, results_table, run_details, write_leaderboard


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
    assert not re.search(r"<(script|link|img)[^>]*(src|href)=\"https?:", page)  # self-contained, no CDN
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


def make_run_folder(
    folder: Path,
    *,
    model: str,
    eval_set: str,
    snr_db: float,
    n_pages: int = 6,
    overrides: list[str] | None = None,
    seed: int = 0,
    overlays: int = 2,
) -> Path:
    """A folder shaped like an evaluate.py run: metrics.json, per_image.csv, per_lead.csv, .hydra/ and
    ``overlays/{best,worst}-<page>-{overlay,leads}.png`` for the ``overlays`` best and worst pages."""
    rng = np.random.default_rng(seed)
    pages = [f"{100 + i}-0001" for i in range(n_pages)]
    page_db = rng.normal(snr_db, 4.0, n_pages)
    _run(
        folder,
        {
            "snr_db": snr_db,
            "rmse_mv": 0.05,
            "n_images": n_pages,
            "n_failed": 0,
            "model": model,
            "eval_set": eval_set,
            "per_type": {"clean": snr_db + 1, "photo": snr_db - 3},
            "commit": f"abc{seed:04d}",
        },
        overrides if overrides is not None else [f"model={model}"],
    )
    (folder / ".hydra" / "config.yaml").write_text(
        f"model:\n  _target_: ecgdl.models.{model}\n  width: {8 + seed}\nseed: 42\ndata:\n  test_size: {n_pages}\n"
    )
    pd.DataFrame({"image_id": pages, "image_type": "clean", "status": "ok", "snr_db": page_db}).to_csv(
        folder / "per_image.csv", index=False
    )
    lead_db = page_db[:, None] + rng.normal(0, 2, (n_pages, len(LEADS)))
    pd.DataFrame(lead_db, index=pd.Index(pages, name="image_id"), columns=list(LEADS)).to_csv(
        folder / "per_lead.csv"
    )
    order = np.argsort(page_db)
    (folder / "overlays").mkdir(exist_ok=True)
    for tag, chosen in (("worst", order[:overlays]), ("best", order[::-1][:overlays])):
        for i in chosen:
            image = np.full((120, 160, 3), 250, np.uint8)
            cv2.putText(image, pages[i], (5, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (180, 40, 40), 2)
            cv2.imwrite(str(folder / "overlays" / f"{tag}-{pages[i]}-overlay.png"), image)
            cv2.imwrite(str(folder / "overlays" / f"{tag}-{pages[i]}-leads.png"), image)
    return folder


def embedded(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="lb-data">(.*?)</script>', page, re.S)
    assert match, "no embedded data"
    return json.loads(match.group(1))


def test_run_details_read_pages_leads_config_and_overlays(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    make_run_folder(root / "0", model="cnn", eval_set="synth/kaggle", snr_db=20.0, n_pages=6, overlays=3)
    details = run_details(root, "0", overlays_per_tag=2)
    assert details.overrides == ["model=cnn"] and details.commit == "abc0000" and details.date
    per_image = pd.read_csv(root / "0" / "per_image.csv")
    assert details.page_ids == list(per_image["image_id"])
    np.testing.assert_allclose(details.page_db, per_image["snr_db"])
    lead = pd.read_csv(root / "0" / "per_lead.csv", index_col=0)
    np.testing.assert_allclose(details.lead_db, lead[list(LEADS)].mean().to_numpy())
    assert details.config["model._target_"] == "ecgdl.models.cnn" and details.config["seed"] == "42"
    tags = [tag for tag, *_ in details.overlays]
    assert tags == ["worst", "worst", "best", "best"]  # two of the three each, the extremes first
    db = [d for _, _, d, _ in details.overlays]
    assert db[0] == min(per_image["snr_db"]) and db[2] == max(per_image["snr_db"]) and db[0] <= db[1]
    assert all(path.is_file() for *_, path in details.overlays)
    bare = tmp_path / "bare"
    _run(bare, {"snr_db": 3.0})
    empty = run_details(bare, ".")
    assert empty.page_ids == [] and empty.lead_db == [] and empty.overlays == [] and empty.config == {}


def make_sweep(root: Path, sweep: str, runs: list[tuple[str, float]]) -> Path:
    """A multirun of ``runs`` (model, SNR) under ``root/multirun/<sweep>/<n>``, one seed each; returns ``root``."""
    for i, (model, snr) in enumerate(runs):
        make_run_folder(
            root / "multirun" / sweep / str(i),
            model=model,
            eval_set="synth/kaggle",
            snr_db=snr,
            seed=i,
            overrides=[f"model={model}", f"seed={i}"],
        )
    return root


def test_dashboard_inlines_its_figures_and_every_run_with_resolvable_links(tmp_path: Path) -> None:
    root = make_sweep(tmp_path / "outputs", "x", [("cnn", 22.0), ("classical", 18.0), ("cnn", 15.0)])
    out = tmp_path / "reports"
    paths = write_leaderboard(collect_runs(root), out, runs_root=root)
    page = paths["html"].read_text()
    assert page.count("<script>") == 2 and "<script src" not in page  # sorting and the dashboard, inline
    assert page.count('class="figure"') == 2  # the heatmap and the box plot, drawn when the page was built
    boxes = re.search(r'<div id="pagebox".*?</svg>', page, re.S).group(0)
    assert all(f"#{rank} model=" in boxes for rank in (1, 2, 3))  # one box per run, labelled
    heat = re.search(r'<div id="heatmap".*?</svg>', page, re.S).group(0)
    assert ">23.0<" in heat and ">15.0<" in heat  # the cells are annotated with their SNR
    data = embedded(page)
    assert [r["rank"] for r in data["runs"]] == [1, 2, 3] and data["leads"] == list(LEADS)
    first = data["runs"][0]
    assert first["label"] == "model=cnn seed=0" and first["commit"] == "abc0000"
    assert len(first["db"]) == 6 and len(first["lead"]) == 12 and len(first["gal"]) == 4
    config = dict(data["items"][k].split("=", 1) for k in first["cfg"])
    assert config["model.width"] == "8" and config["seed"] == "42"
    assert len(data["items"]) < 3 * len(config)  # shared items are stored once
    assert data["heat"]["y"] == ["cnn", "classical"] and "synth/kaggle photo" in data["heat"]["x"]
    for run in data["runs"]:
        assert (out / unquote(run["href"])).resolve() == (root / run["path"]).resolve()
        for tag, _, _, thumb, full, leads in run["gal"]:
            assert tag in ("best", "worst") and thumb.startswith("thumbs/") and thumb.endswith(".jpg")
            for link in (thumb, full, leads):
                assert (out / unquote(link)).is_file(), link
    markup = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    for link in re.findall(r'(?<![:\w])href="([^"#]+)"', markup):  # not the figures' xlink:href data
        assert (out / unquote(link)).exists(), link


def test_html_table_keeps_rows_past_shown_rows_in_a_template() -> None:
    from ecgdl.leaderboard.tables import html_table

    frame = pd.DataFrame({"rank": [1, 2, 3, 4], "snr_db": [20.0, 18.0, 12.5, 3.0]})
    page = html_table(frame, ["snr_db"], "runs", table_id="ranked", shown_rows=2)
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    waiting = re.search(r'<template class="more-rows" data-for="ranked">(.*?)</template>', page, re.S).group(
        1
    )
    assert re.findall(r'data-row="(\d)"', body) == ["0", "1"]
    assert re.findall(r'data-row="(\d)"', waiting) == ["2", "3"]
    assert "show all 4 rows" in page and 'data-v="12.5"' in waiting
    whole = html_table(frame, ["snr_db"], "runs", table_id="ranked")
    assert "<template" not in whole and len(re.findall(r"<tr data-row", whole)) == 4
