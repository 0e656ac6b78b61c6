"""Output writers (:mod:`ecgdl.signals.writers`): round trips through WFDB, EDF+, DICOM, JSON and CSV, the
registry and atomic, non-clobbering writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.signals.synthetic import generate_ecg
from ecgdl.signals.writers import (
    WRITERS,
    output_paths,
    to_jsonable,
    write_dicom,
    write_edf,
    write_json_sidecar,
    write_outputs,
    write_wfdb,
)


def _reading(fs_hz: float = 500) -> np.ndarray:
    """A realistic synthetic reading, printed as a 3x4 page prints it: lead V1 only in 2.5-5 s, aVR nowhere."""
    sig = generate_ecg(np.random.default_rng(0), fs_hz=fs_hz).signal_mv.copy()
    quarter = round(2.5 * fs_hz)
    v1 = LEADS.index("V1")
    sig[:quarter, v1] = np.nan
    sig[2 * quarter :, v1] = np.nan
    sig[:, LEADS.index("aVR")] = np.nan
    return sig


def _no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_wfdb_round_trip_keeps_nan_and_1_uv(tmp_path: Path) -> None:
    import wfdb

    sig = _reading()
    paths = write_wfdb(tmp_path, "page one", sig, 500, {"layout": "3x4", "gain_mm_per_mv": np.float64(10.0)})
    assert [p.name for p in paths] == ["page_one.hea", "page_one.dat"]
    assert "page_one.dat 16 1000" in paths[0].read_text()  # the header names the final data file
    rec = wfdb.rdrecord(str(tmp_path / "page_one"))
    assert rec.sig_name == list(LEADS) and rec.units == ["mV"] * 12 and rec.fs == 500
    assert np.array_equal(np.isnan(rec.p_signal), np.isnan(sig))
    assert np.nanmax(np.abs(rec.p_signal - sig)) <= 0.0005 + 1e-9
    assert "layout: 3x4" in rec.comments
    _no_temporaries(tmp_path)


def test_wfdb_coarsens_steps_only_beyond_16_bits(tmp_path: Path) -> None:
    import wfdb

    sig = np.zeros((100, 12))
    sig[50, 0] = 40.0  # beyond the +-32.767 mV of 1 uV steps
    write_wfdb(tmp_path, "big", sig, 250)
    rec = wfdb.rdrecord(str(tmp_path / "big"))
    assert rec.adc_gain[0] < 1000 and abs(rec.p_signal[50, 0] - 40.0) < 0.002


@pytest.mark.parametrize("fs_hz", [500, 250, 100])
def test_edf_round_trip_within_1_uv(tmp_path: Path, fs_hz: int) -> None:
    import pyedflib

    sig = _reading(fs_hz)
    (path,) = write_edf(tmp_path, "page", sig, fs_hz)
    with pyedflib.EdfReader(str(path)) as edf:
        assert edf.getSignalLabels() == [f"ECG {lead}" for lead in LEADS]
        assert list(edf.getSampleFrequencies()) == [fs_hz] * 12
        back = np.stack([edf.readSignal(i) for i in range(12)], axis=1)
        onsets, durations, texts = edf.readAnnotations()
        transducers = [edf.getTransducer(i) for i in range(12)]
        assert all(edf.getPhysicalDimension(i) == "mV" for i in range(12))
    assert back.shape == sig.shape
    printed = ~np.isnan(sig)
    assert np.abs(back[printed] - sig[printed]).max() <= 0.001
    assert np.abs(back[~printed]).max() <= 0.001  # unprinted samples are 0 mV
    notes = {
        (str(t), round(float(o), 3), round(float(d), 3))
        for o, d, t in zip(onsets, durations, texts, strict=True)
    }
    assert notes == {
        ("aVR not printed", 0.0, 10.0),
        ("V1 not printed", 0.0, 2.5),
        ("V1 not printed", 5.0, 5.0),
    }
    assert "not printed" in transducers[LEADS.index("aVR")]
    assert "not printed" not in transducers[LEADS.index("V1")]


def test_edf_pads_a_partial_last_record_and_says_so(tmp_path: Path) -> None:
    import pyedflib

    sig = np.full((1250, 12), 0.25)
    (path,) = write_edf(tmp_path, "short", sig, 500)
    with pyedflib.EdfReader(str(path)) as edf:
        back = edf.readSignal(0)
        _, _, texts = edf.readAnnotations()
    assert (
        len(back) == 1500 and np.abs(back[:1250] - 0.25).max() <= 0.001 and np.abs(back[1250:]).max() <= 0.001
    )
    assert list(texts) == ["padding (no signal)"]


def test_edf_refuses_a_rate_without_whole_samples_per_record(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"odd\.edf: EDF needs a whole number of samples"):
        write_edf(tmp_path, "odd", np.zeros((100, 12)), 500 / 7 + 0.001)


def test_dicom_round_trip(tmp_path: Path) -> None:
    import pydicom

    sig = _reading()
    (path,) = write_dicom(tmp_path, "page", sig, 500, {"layout": "3x4", "confidence": 0.93})
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.9.1.1" and ds.Modality == "ECG"
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.PatientName == "" and ds.PatientID == ""
    group = ds.WaveformSequence[0]
    assert group.NumberOfWaveformChannels == 12 and group.NumberOfWaveformSamples == sig.shape[0]
    assert float(group.SamplingFrequency) == 500 and group.WaveformBitsAllocated == 16
    assert group.WaveformSampleInterpretation == "SS"
    channels = group.ChannelDefinitionSequence
    codes = [ch.ChannelSourceSequence[0].CodeValue for ch in channels]
    assert codes == ["2:1", "2:2", "2:61", "2:62", "2:63", "2:64", "2:3", "2:4", "2:5", "2:6", "2:7", "2:8"]
    assert {ch.ChannelSourceSequence[0].CodingSchemeDesignator for ch in channels} == {"MDC"}
    assert all(ch.ChannelSensitivityUnitsSequence[0].CodeValue == "uV" for ch in channels)
    assert channels[LEADS.index("aVR")].ChannelLabel == "aVR not printed"
    assert channels[LEADS.index("V1")].ChannelLabel == "V1"
    back_uv = ds.waveform_array(0)
    assert back_uv.shape == sig.shape
    printed = ~np.isnan(sig)
    assert np.abs(back_uv[printed] / 1000 - sig[printed]).max() <= 0.0005 + 1e-9
    assert np.all(back_uv[~printed] == 0)
    texts = [a.UnformattedTextValue for a in ds.WaveformAnnotationSequence]
    assert any(
        t.startswith("V1 not printed") and "0.000-2.500 s" in t and "5.000-10.000 s" in t for t in texts
    )
    assert any("layout: 3x4" in t and "confidence: 0.93" in t for t in texts)


def test_dicom_refuses_rates_outside_the_standard(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"page\.dcm: a DICOM ECG waveform holds 200 to 1000 Hz"):
        write_dicom(tmp_path, "page", np.zeros((1000, 12)), 100)
    assert not list(tmp_path.iterdir())


def test_json_sidecar_round_trip(tmp_path: Path) -> None:
    meta = {
        "layout": "3x4+II",
        "gain_mm_per_mv": np.float32(10.0),
        "speed_mm_per_s": 25,
        "confidence": np.float64(0.875),
        "turned_deg": np.int64(180),
        "reader": "cnn",
        "px_per_mm": float("nan"),
        "page_corners_px": np.array([[0.0, 1.5], [np.nan, 2.0]]),
        "flags": (True, np.bool_(False)),
        "source": Path("/data/page.png"),
    }
    sig = _reading()
    (path,) = write_json_sidecar(tmp_path, "page", sig, 500, meta)
    doc = json.loads(path.read_text())
    assert doc["meta"] == {
        "layout": "3x4+II",
        "gain_mm_per_mv": 10.0,
        "speed_mm_per_s": 25,
        "confidence": 0.875,
        "turned_deg": 180,
        "reader": "cnn",
        "px_per_mm": None,
        "page_corners_px": [[0.0, 1.5], [None, 2.0]],
        "flags": [True, False],
        "source": "/data/page.png",
    }
    assert doc["meta"] == to_jsonable(meta)
    assert doc["signal"]["fs_hz"] == 500 and doc["signal"]["n_samples"] == 5000
    assert doc["signal"]["leads"] == list(LEADS) and doc["signal"]["units"] == "mV"
    assert doc["signal"]["printed_s"]["V1"] == [[2.5, 5.0]]
    assert doc["signal"]["printed_s"]["aVR"] == []
    assert doc["signal"]["printed_s"]["II"] == [[0.0, 10.0]]


def test_write_outputs_writes_every_format_and_reads_back_csv(tmp_path: Path) -> None:
    from ecgdl.signals.io import read_kaggle_signal_csv

    sig = _reading()
    paths = write_outputs(list(WRITERS), tmp_path, "page", sig, 500, {"reader": "classical"})
    assert sorted(p.name for p in paths) == sorted(
        p.name for p in output_paths(list(WRITERS), tmp_path, "page")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["page.csv", "page.hea", "page.dat", "page.edf", "page.dcm", "page.json"]
    )
    back = read_kaggle_signal_csv(tmp_path / "page.csv", 500).signal_mv
    assert np.array_equal(np.isnan(back), np.isnan(sig)) and np.nanmax(np.abs(back - sig)) == 0
    _no_temporaries(tmp_path)


def test_unknown_format_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(
        KeyError, match=r"unknown output format\(s\) \['xml'\]; valid: csv, wfdb, edf, dicom, json"
    ):
        write_outputs(["csv", "xml"], tmp_path, "page", np.zeros((10, 12)), 500)
    assert not list(tmp_path.iterdir())


def test_existing_files_are_kept_unless_overwrite(tmp_path: Path) -> None:
    sig = _reading()
    (tmp_path / "page.edf").write_bytes(b"earlier result")
    with pytest.raises(FileExistsError, match=r"page\.edf: already exists; pass overwrite=True"):
        write_outputs(["json", "edf"], tmp_path, "page", sig, 500)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.edf"]  # nothing written, nothing replaced
    assert (tmp_path / "page.edf").read_bytes() == b"earlier result"
    for name, writer in WRITERS.items():
        writer(tmp_path, f"w-{name}", sig, 500)
        with pytest.raises(FileExistsError, match=r"w-"):
            writer(tmp_path, f"w-{name}", sig, 500)
    write_outputs(["json", "edf"], tmp_path, "page", sig, 500, overwrite=True)
    assert (tmp_path / "page.edf").read_bytes()[:8] == b"0       "  # an EDF header now
    _no_temporaries(tmp_path)


def test_a_failing_writer_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyedflib

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pyedflib.EdfWriter, "writeSamples", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_edf(tmp_path, "page", _reading(), 500)
    assert list(tmp_path.iterdir()) == []


def test_bad_signals_are_refused_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"page\.json: signal_mv must have shape"):
        write_json_sidecar(tmp_path, "page", np.zeros((10, 11)), 500)
    bad = np.zeros((10, 12))
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match=r"page\.hea: signal_mv contains inf"):
        write_wfdb(tmp_path, "page", bad, 500)
    with pytest.raises(ValueError, match=r"page\.edf: fs_hz must be a positive number"):
        write_edf(tmp_path, "page", np.zeros((10, 12)), 0)
