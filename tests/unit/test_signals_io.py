"""Tests of the signal readers/writers (WFDB, Kaggle CSV and layout, PTB-XL), resampling and file-backed sources."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgdl.constants import LEAD_INDEX, LEADS
from ecgdl.signals import (
    EcgRecord,
    KaggleLayout,
    KaggleSource,
    PtbXlIndex,
    PtbXlSource,
    SyntheticECGConfig,
    build_source,
    generate_ecg,
    read_kaggle_signal_csv,
    read_test_csv,
    read_wfdb,
    resample_record,
    write_kaggle_signal_csv,
    write_wfdb,
)


def _record(fs_hz: float = 500, seed: int = 0) -> EcgRecord:
    cfg = SyntheticECGConfig(p_baseline_wander=1.0, p_emg=1.0)
    return generate_ecg(np.random.default_rng(seed), fs_hz, config=cfg, record_id="r1")


def _kaggle_mask(record: EcgRecord) -> EcgRecord:
    """Blank every lead but II outside its 2.5-s column, as in the Kaggle train CSVs."""
    sig = record.signal_mv.copy()
    n = record.n_samples
    cols = {"I": 0, "II": None, "III": 0, "aVR": 1, "aVL": 1, "aVF": 1, "V1": 2, "V2": 2, "V3": 2}
    cols.update({"V4": 3, "V5": 3, "V6": 3})
    for lead, col in cols.items():
        if col is None:
            continue
        keep = np.zeros(n, dtype=bool)
        keep[col * n // 4 : (col + 1) * n // 4] = True
        sig[~keep, LEAD_INDEX[lead]] = np.nan
    return EcgRecord(sig, record.fs_hz, record.record_id)


# ------------------------------------------------------------------------------------------- Kaggle CSV


def test_kaggle_csv_round_trip_is_bit_exact(tmp_path: Path) -> None:
    rec = _kaggle_mask(_record(1025))
    rec.signal_mv[5, 1] = 0.1 + 0.2  # a value whose shortest repr needs 17 digits
    rec.signal_mv[6, 1] = -0.0
    rec.signal_mv[7, 1] = 1e-300
    path = write_kaggle_signal_csv(rec, tmp_path / "r1.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"
    assert len(lines) == rec.n_samples + 1
    first = lines[1].split(",")
    assert all(first[:3]) and first[3:] == [""] * 9  # I, II, III in the first 2.5 s; the rest empty
    back = read_kaggle_signal_csv(path, 1025)
    assert back.record_id == "r1" and back.fs_hz == 1025.0
    assert back.signal_mv.shape == rec.signal_mv.shape
    assert np.array_equal(np.isnan(back.signal_mv), np.isnan(rec.signal_mv))
    finite = ~np.isnan(rec.signal_mv)
    assert np.array_equal(back.signal_mv[finite].view(np.int64), rec.signal_mv[finite].view(np.int64))


def test_kaggle_csv_reads_real_file(shared_data: Path) -> None:
    rec = read_kaggle_signal_csv(shared_data / "dev_eik_clean" / "train" / "841" / "841.csv", 500)
    assert rec.signal_mv.shape == (5000, 12)
    assert not np.isnan(rec.lead("II")).any()
    assert np.isnan(rec.lead("V1")[:2500]).all() and not np.isnan(rec.lead("V1")[2500:3750]).any()


def test_kaggle_csv_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothere\.csv"):
        read_kaggle_signal_csv(tmp_path / "nothere.csv", 500)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({lead: [0.0, 1.0] for lead in LEADS if lead != "V6"}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"bad\.csv.*missing lead\(s\) V6"):
        read_kaggle_signal_csv(bad, 500)
    text = tmp_path / "text.csv"
    text.write_text(",".join(LEADS) + "\n" + ",".join(["x"] * 12) + "\n")
    with pytest.raises(ValueError, match=r"text\.csv.*non-numeric"):
        read_kaggle_signal_csv(text, 500)
    rec = _record()
    rec.signal_mv[0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        write_kaggle_signal_csv(rec, tmp_path / "inf.csv")


# -------------------------------------------------------------------------------------------------- WFDB


def test_wfdb_round_trip(tmp_path: Path) -> None:
    rec = _kaggle_mask(_record(1025, seed=3))
    base = write_wfdb(rec, tmp_path / "sub" / "rec_01")
    assert (tmp_path / "sub" / "rec_01.hea").is_file()
    back = read_wfdb(base)
    assert back.fs_hz == 1025.0 and back.record_id == "rec_01"
    assert back.signal_mv.shape == rec.signal_mv.shape
    assert np.array_equal(np.isnan(back.signal_mv), np.isnan(rec.signal_mv))
    np.testing.assert_allclose(back.signal_mv, rec.signal_mv, rtol=0, atol=0.5e-3 + 1e-12)
    # The header path works as well.
    assert np.array_equal(read_wfdb(str(base) + ".hea").signal_mv, back.signal_mv, equal_nan=True)


def test_wfdb_lead_names_are_case_insensitive_and_reordered(tmp_path: Path) -> None:
    rec = _record(500)
    order = [11, 3, 0, 1, 2, 4, 5, 6, 7, 8, 9, 10]
    names = [LEADS[i].upper() if i != 6 else "v1" for i in order]
    wfdb.wrsamp(
        "odd",
        fs=500,
        units=["uV"] * 12,
        sig_name=names,
        p_signal=rec.signal_mv[:, order] * 1000.0,
        fmt=["32"] * 12,
        adc_gain=[1.0] * 12,
        baseline=[0] * 12,
        write_dir=str(tmp_path),
    )
    back = read_wfdb(tmp_path / "odd")
    np.testing.assert_allclose(back.signal_mv, rec.signal_mv, rtol=0, atol=0.5e-3 + 1e-12)


def test_wfdb_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing_rec\.hea.*not found"):
        read_wfdb(tmp_path / "missing_rec")
    rec = _record(500)
    wfdb.wrsamp(
        "eleven",
        fs=500,
        units=["mV"] * 11,
        sig_name=list(LEADS[:11]),
        p_signal=rec.signal_mv[:, :11],
        fmt=["16"] * 11,
        adc_gain=[1000.0] * 11,
        baseline=[0] * 11,
        write_dir=str(tmp_path),
    )
    with pytest.raises(ValueError, match=r"eleven\.hea.*missing lead\(s\) V6"):
        read_wfdb(tmp_path / "eleven")
    (tmp_path / "broken.hea").write_text("this is not a header\n")
    with pytest.raises(ValueError, match=r"broken\.hea.*cannot read WFDB"):
        read_wfdb(tmp_path / "broken")
    big = EcgRecord(np.full((10, 12), 40.0), 500.0, "big")
    with pytest.raises(ValueError, match="lower adc_gain"):
        write_wfdb(big, tmp_path / "big")
    with pytest.raises(ValueError, match="WFDB record names"):
        write_wfdb(rec, tmp_path / "bad name")


# ------------------------------------------------------------------------------------------------ PTB-XL


@pytest.mark.shared_data
def test_read_real_ptbxl_record(shared_data: Path) -> None:
    index = PtbXlIndex(shared_data / "ptbxl500")
    assert len(index) == 600
    assert index.records[0].startswith("records500/")
    for i in (0, 299, 599):
        rec = index.read(i)
        s = rec.signal_mv
        assert s.shape == (5000, 12) and rec.fs_hz == 500.0
        assert rec.record_id.endswith("_hr")
        assert np.all(np.isfinite(s))
        assert np.abs(s).max() < 10.0
        assert 0.2 < np.ptp(rec.lead("II")) < 8.0
        # Recorded limb leads obey Einthoven / Goldberger up to the 1-uV storage rounding.
        np.testing.assert_allclose(rec.lead("III"), rec.lead("II") - rec.lead("I"), rtol=0, atol=5e-3)
        np.testing.assert_allclose(s[:, 3:6].sum(axis=1), 0.0, rtol=0, atol=5e-3)


def test_ptbxl_index_globs_without_records_file(tmp_path: Path) -> None:
    for ecg_id in (1203, 17):
        write_wfdb(
            _record(500, seed=ecg_id),
            tmp_path / "records500" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}_hr",
        )
    index = PtbXlIndex(tmp_path)
    assert index.records == ["records500/00000/00017_hr", "records500/01000/01203_hr"]
    assert index.read(1).record_id == "01203_hr"
    with pytest.raises(IndexError, match="out of range"):
        index.path(2)
    with pytest.raises(FileNotFoundError, match="no PTB-XL records"):
        PtbXlIndex(tmp_path / "records500")
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        PtbXlIndex(tmp_path / "nowhere")


@pytest.mark.shared_data
def test_ptbxl_source_resamples(shared_data: Path) -> None:
    src = build_source("ptbxl", root=str(shared_data / "ptbxl500"), fs_hz=250, max_records=5)
    assert isinstance(src, PtbXlSource) and len(src) == 5
    rec = src.get(0, np.random.default_rng(0))
    assert rec.signal_mv.shape == (2500, 12) and rec.fs_hz == 250.0
    assert rec.meta["resampled_from_hz"] == 500.0
    native = PtbXlSource(str(shared_data / "ptbxl500")).get(0, np.random.default_rng(0))
    assert native.fs_hz == 500.0 and native.n_samples == 5000


# ------------------------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("fs_new", [250, 256, 512, 1000, 1025])
def test_resample_record_keeps_a_slow_sine(fs_new: int) -> None:
    t = np.arange(5000) / 500.0
    sig = np.tile(np.sin(2 * np.pi * 3.0 * t)[:, None], (1, 12))
    out = resample_record(EcgRecord(sig, 500.0, "sine"), fs_new)
    assert out.n_samples == round(10.0 * fs_new) and out.fs_hz == fs_new
    t2 = np.arange(out.n_samples) / fs_new
    inner = slice(fs_new // 2, -fs_new // 2)  # away from the edge transients
    np.testing.assert_allclose(out.signal_mv[inner, 0], np.sin(2 * np.pi * 3.0 * t2)[inner], atol=2e-3)


def test_resample_record_rejects_nan() -> None:
    rec = _kaggle_mask(_record())
    with pytest.raises(ValueError, match="NaN"):
        resample_record(rec, 250)
    same = resample_record(_record(), 500)
    assert same.n_samples == 5000


# ------------------------------------------------------------------------------------------ Kaggle layout


def test_kaggle_layout_write_and_read_back(tmp_path: Path) -> None:
    layout = KaggleLayout(tmp_path / "set")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    rec_a = _kaggle_mask(_record(500, seed=1))
    rec_b = _kaggle_mask(_record(256, seed=2))
    layout.write_item("12", rec_a, {"0001": img, "0003": img[::-1]}, {"12-0001.json": "{}"})
    layout.write_item("7", rec_b, {"0001": img})
    layout.write_index()
    index = layout.read_index()
    assert list(index["id"]) == ["12", "7"]
    assert list(index["fs"]) == [500.0, 256.0] and list(index["sig_len"]) == [5000, 2560]
    assert (tmp_path / "set" / "train.csv").read_text().splitlines()[1] == "12,500,5000"
    items = list(layout.iter_items())
    assert [it.id for it in items] == ["12", "7"]
    _, fs_hz, sig_path, images = items[0]
    assert fs_hz == 500.0 and sig_path == tmp_path / "set" / "train" / "12" / "12.csv"
    assert [t for t, _ in images] == ["0001", "0003"]
    back_img = cv2.cvtColor(cv2.imread(str(images[0][1])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(back_img, img)
    assert (tmp_path / "set" / "train" / "12" / "12-0001.json").read_text() == "{}"
    back = layout.read_signal("7")
    assert np.array_equal(back.signal_mv, rec_b.signal_mv, equal_nan=True) and back.fs_hz == 256.0
    # A second writer extends the existing index.
    other = KaggleLayout(tmp_path / "set")
    other.write_item("3", rec_a)
    other.write_index()
    assert list(other.read_index()["id"]) == ["12", "7", "3"]
    src = KaggleSource(str(tmp_path / "set"))
    assert len(src) == 3
    assert np.array_equal(src.get(1, np.random.default_rng(0)).signal_mv, rec_b.signal_mv, equal_nan=True)


def test_kaggle_layout_errors(tmp_path: Path) -> None:
    layout = KaggleLayout(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"train\.csv not found"):
        layout.read_index()
    rec = _record(500)
    with pytest.raises(ValueError, match="4 digits"):
        layout.write_item("1", rec, {"1": np.zeros((4, 4, 3), np.uint8)})
    with pytest.raises(ValueError, match="uint8 RGB"):
        layout.write_item("1", rec, {"0001": np.zeros((4, 4), np.uint8)})
    with pytest.raises(ValueError, match="invalid item id"):
        layout.write_item("../x", rec)
    layout.write_item("1", rec)
    layout.write_index()
    # The signal CSV must have sig_len rows.
    (tmp_path / "train.csv").write_text("id,fs,sig_len\n1,500,4000\n")
    with pytest.raises(ValueError, match=r"1\.csv: has 5000 rows but train\.csv says sig_len=4000"):
        layout.read_signal("1")
    (tmp_path / "train.csv").write_text("id,fs\n1,500\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['sig_len'\]"):
        layout.read_index()


@pytest.mark.shared_data
def test_kaggle_source_on_real_set(shared_data: Path) -> None:
    src = build_source("kaggle", root=str(shared_data / "dev_eik_clean"))
    assert len(src) == 10
    rec = src.get(0, np.random.default_rng(0))
    assert rec.record_id == "841" and rec.signal_mv.shape == (5000, 12)
    assert not np.isnan(rec.lead("II")).any()
    assert np.isnan(rec.lead("aVR")[:1250]).all() and not np.isnan(rec.lead("aVR")[1250:2500]).any()
    assert set(rec.meta["image_paths"]) == {"0001"}


def test_read_test_csv(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("id,lead,fs,number_of_rows\n1053922973,II,1025,10250\n1053922973,AVR,1025,2562\n")
    df = read_test_csv(path)
    assert list(df["lead"]) == ["II", "aVR"]
    assert df["id"].iloc[0] == "1053922973" and list(df["number_of_rows"]) == [10250, 2562]
    assert df["fs"].iloc[0] == 1025.0
    path.write_text("id,lead,fs,number_of_rows\n1,V7,500,1250\n")
    with pytest.raises(ValueError, match=r"test\.csv: unknown lead name\(s\) \['V7'\]"):
        read_test_csv(path)
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        read_test_csv(tmp_path / "nope.csv")
