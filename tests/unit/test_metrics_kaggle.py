"""Kaggle submission writer (ids, row counts from number_of_rows) and the local train-layout scorer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgdl.constants import LEADS
from ecgdl.metrics.kaggle import score_folder, submission_rows, write_submission
from ecgdl.signals.record import EcgRecord

_COLUMN = dict(zip(LEADS, [0, None, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], strict=True))


def _test_csv(path: Path, image_id: str, fs: int, short_rows: int) -> Path:
    rows = [
        {"id": image_id, "lead": lead, "fs": fs, "number_of_rows": 10 * fs if lead == "II" else short_rows}
        for lead in LEADS
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_submission_ids_and_counts_1025_hz(tmp_path: Path, rng: np.random.Generator) -> None:
    fs, n = 1025, 10250
    test_csv = _test_csv(tmp_path / "test.csv", "1053922973", fs, 2562)  # 2.5 * 1025 = 2562.5 -> 2562 rows
    signal = rng.normal(size=(n, 12))
    out = tmp_path / "sub" / "submission.csv"
    report = write_submission({"1053922973": EcgRecord(signal, fs)}, test_csv, out)
    sub = pd.read_csv(out, dtype={"id": str})
    assert list(sub.columns) == ["id", "value"]
    assert len(sub) == 11 * 2562 + 10250
    assert report.set_index("lead").loc["II", "rows"] == 10250
    parts = sub["id"].str.split("_", expand=True)
    counts = parts.groupby(2).size()
    assert counts["II"] == 10250 and counts["aVR"] == 2562 and counts["V6"] == 2562
    # Rows restart at 0 for every lead.
    for lead in ("I", "II", "V4"):
        rows = parts.loc[parts[2] == lead, 1].astype(int).to_numpy()
        np.testing.assert_array_equal(rows, np.arange(len(rows)))
    assert "1053922973_0_I" in set(sub["id"]) and "1053922973_2561_V1" in set(sub["id"])
    assert "1053922973_2562_V1" not in set(sub["id"])
    # A full-length prediction: aVR's window starts at int(2.5 * 1025) = 2562, V4's at int(7.5 * 1025) = 7687.
    avr = sub.loc[sub["id"].str.endswith("_aVR"), "value"].to_numpy()
    np.testing.assert_allclose(avr, signal[2562 : 2562 + 2562, LEADS.index("aVR")], rtol=1e-5, atol=1e-5)
    v4 = sub.loc[sub["id"].str.endswith("_V4"), "value"].to_numpy()
    np.testing.assert_allclose(v4[:5], signal[7687:7692, LEADS.index("V4")], rtol=1e-5, atol=1e-5)


def test_submission_from_nan_window_prediction(tmp_path: Path, rng: np.random.Generator) -> None:
    """Kaggle-train-style prediction (NaN outside each window): the finite window is submitted."""
    fs, n, win = 100, 1000, 250
    test_csv = _test_csv(tmp_path / "test.csv", "7", fs, win)
    full = rng.normal(size=(n, 12))
    pred = full.copy()
    for k, lead in enumerate(LEADS):
        if lead != "II":
            mask = np.ones(n, bool)
            mask[_COLUMN[lead] * win : (_COLUMN[lead] + 1) * win] = False
            pred[mask, k] = np.nan
    write_submission({7: pred}, test_csv, tmp_path / "s.csv")  # int key is fine
    sub = pd.read_csv(tmp_path / "s.csv", dtype={"id": str}).set_index("id")["value"]
    assert sub["7_0_V2"] == pytest.approx(full[500, LEADS.index("V2")], abs=1e-5)
    assert sub["7_249_aVF"] == pytest.approx(full[499, LEADS.index("aVF")], abs=1e-5)
    assert np.isfinite(sub.to_numpy()).all()


def test_submission_missing_and_nan(tmp_path: Path) -> None:
    test_csv = _test_csv(tmp_path / "test.csv", "9", 10, 25)
    with pytest.raises(ValueError, match="no prediction for 1 test image"):
        write_submission({}, test_csv, tmp_path / "s.csv")
    with pytest.warns(UserWarning, match="as zeros"):
        write_submission({}, test_csv, tmp_path / "s.csv", missing="zeros")
    assert (pd.read_csv(tmp_path / "s.csv")["value"] == 0).all()
    pred = np.ones((100, 12))
    pred[3, 0] = np.nan
    with pytest.raises(ValueError, match="image 9, lead I"):
        write_submission({"9": pred}, test_csv, tmp_path / "s.csv", nan_policy="error")
    values, filled = submission_rows(pred, "I", 25, 10)
    assert filled == 1 and values[3] == 1.0
    with pytest.raises(ValueError, match="number_of_rows"):
        submission_rows(pred, "I", 0, 10)


# --------------------------------------------------------------------------------------------- local scorer


def _train_tree(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    fs, n, win = 100, 1000, 250
    pd.DataFrame({"id": [11, 22], "fs": [fs, fs], "sig_len": [n, n]}).to_csv(root / "train.csv", index=False)
    truths = {}
    for rid in ("11", "22"):
        folder = root / "train" / rid
        folder.mkdir(parents=True)
        x = np.cumsum(rng.normal(0, 0.05, (n, 12)), axis=0) + rng.normal(0, 0.05, (n, 12))
        for k, lead in enumerate(LEADS):
            if lead != "II":
                mask = np.ones(n, bool)
                mask[_COLUMN[lead] * win : (_COLUMN[lead] + 1) * win] = False
                x[mask, k] = np.nan
        pd.DataFrame(x, columns=list(LEADS)).to_csv(folder / f"{rid}.csv", index=False)
        for suffix in ("0001", "0003"):
            (folder / f"{rid}-{suffix}.png").write_bytes(b"")
        truths[rid] = x
    return truths


def test_score_folder(tmp_path: Path, rng: np.random.Generator) -> None:
    truth_root, pred_dir = tmp_path / "kaggle", tmp_path / "preds"
    truth_root.mkdir()
    pred_dir.mkdir()
    truths = _train_tree(truth_root, rng)
    # 11-0001: full-length perfect prediction with an offset (compared only where the truth is defined).
    full = np.nan_to_num(truths["11"], nan=7.0) + 0.25
    pd.DataFrame(full, columns=list(LEADS)).to_csv(pred_dir / "11-0001.csv", index=False)
    # 11-0003: noisy NaN-window prediction.
    noisy = truths["11"] + rng.normal(0, 0.05, truths["11"].shape)
    pd.DataFrame(noisy, columns=list(LEADS)).to_csv(pred_dir / "11-0003.csv", index=False)
    # 22-0001: wrong row count -> error; 22-0003: missing.
    pd.DataFrame(np.zeros((10, 12)), columns=list(LEADS)).to_csv(pred_dir / "22-0001.csv", index=False)

    with pytest.warns(UserWarning, match="2 image"):
        score = score_folder(truth_root, pred_dir)
    assert score.n_images == 4 and score.n_failed == 2
    assert sorted(score.failed) == ["22-0001", "22-0003"]
    table = score.per_image.set_index("image")
    assert table.loc["22-0003", "status"] == "missing"
    assert table.loc["22-0001", "status"].startswith("error")
    assert table.loc["11-0001", "snr_db"] == pytest.approx(60.0)
    assert 0 < table.loc["11-0003", "snr_db"] < 60
    assert set(score.per_type()) == {"clean", "scan"}
    assert score.result is not None and score.result.n_images == 4  # failures scored as zeros
    metrics = score.to_metrics()
    assert metrics["n_failed"] == 2 and set(metrics) >= {"snr_db", "rmse_mv", "n_images", "per_type"}

    with pytest.warns(UserWarning):
        skipped = score_folder(truth_root, pred_dir, failed_as="skip", image_types=["0001"])
    assert skipped.n_images == 2 and skipped.n_failed == 1
    assert skipped.snr_db == pytest.approx(60.0)


def test_score_folder_bad_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"train\.csv"):
        score_folder(tmp_path, tmp_path)
