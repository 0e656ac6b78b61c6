"""Writers of a digitized 12-lead reading in the formats that ECG viewers and analysis tools open.

Every writer takes plain arguments, ``(out_dir, stem, signal_mv, fs_hz, meta=None, *, overwrite=False)``, where
``signal_mv`` is a (T, 12) float array in :data:`ecgdl.constants.LEADS` order holding NaN where a lead was not
printed on the page, and returns the paths it wrote:

========  =========================  ============================================================================
format    files                      samples that were not printed (NaN)
========  =========================  ============================================================================
``csv``   ``<stem>.csv``             empty fields (the Kaggle signal CSV, :func:`~ecgdl.signals.io.write_kaggle_signal_csv`)
``wfdb``  ``<stem>.hea`` + ``.dat``  WFDB's missing value (-32768 in format 16): read back as NaN by ``wfdb.rdrecord``
``edf``   ``<stem>.edf``             0 mV; each unprinted stretch is an EDF+ annotation "<lead> not printed", and a
                                     lead printed nowhere says so in its transducer field
``dicom`` ``<stem>.dcm``             0 mV; each lead not fully printed gets a waveform annotation naming the
                                     unprinted stretches, and a lead printed nowhere is labelled "<lead> not printed"
``json``  ``<stem>.json``            the sidecar lists, per lead, the printed stretches in seconds
========  =========================  ============================================================================

Resolution: WFDB stores 1 uV steps (``adc_gain`` 1000 per mV) and DICOM a 1 uV channel sensitivity while the
reading stays within +-32.767 mV (beyond, the step grows just enough to hold the peak). EDF stores each lead
between a symmetric physical range of a round number of 0.5 mV a little above the lead's peak (at least +-1 mV)
on the full 16-bit digital range, so a step is under 1 uV up to +-30 mV. Samples are rounded to the nearest step.

Writes are atomic: each file is written under a temporary name in ``out_dir`` and moved into place with
``os.replace``, so a killed run never leaves a half-written file under a final name. An existing file is replaced
only with ``overwrite=True``; otherwise :class:`FileExistsError` names it. :func:`write_outputs` writes several
formats at once (``WRITERS`` is the registry) after checking that none of their files exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgdl.constants import LEADS, N_LEADS

__all__ = [
    "DICOM_FS_RANGE_HZ",
    "OUTPUT_SUFFIXES",
    "WRITERS",
    "output_paths",
    "printed_intervals_s",
    "to_jsonable",
    "wfdb_record_name",
    "write_csv",
    "write_dicom",
    "write_edf",
    "write_json_sidecar",
    "write_outputs",
    "write_wfdb",
]

#: The sampling rates a DICOM 12-lead (and general) ECG waveform may have.
DICOM_FS_RANGE_HZ: tuple[float, float] = (200.0, 1000.0)
#: At most this many samples per channel in a DICOM 12-lead ECG waveform.
_DICOM_MAX_SAMPLES = 16384
_DICOM_12_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
#: Each lead's code in DICOM CID 3001 "ECG Leads" (ISO/IEEE 11073-10101, coding scheme MDC), and its meaning.
_MDC_LEAD_CODES: dict[str, tuple[str, str]] = {
    "I": ("2:1", "Lead I"),
    "II": ("2:2", "Lead II"),
    "III": ("2:61", "Lead III"),
    "aVR": ("2:62", "Lead aVR"),
    "aVL": ("2:63", "Lead aVL"),
    "aVF": ("2:64", "Lead aVF"),
    "V1": ("2:3", "Lead V1"),
    "V2": ("2:4", "Lead V2"),
    "V3": ("2:5", "Lead V3"),
    "V4": ("2:6", "Lead V4"),
    "V5": ("2:7", "Lead V5"),
    "V6": ("2:8", "Lead V6"),
}
_INT16_MAX = 32767
_UV_PER_MV = 1000.0
#: EDF records last a whole number of seconds; the shortest that holds a whole number of samples, at most this.
_EDF_MAX_RECORD_S = 60
#: EDF physical ranges are whole multiples of this many mV.
_EDF_RANGE_STEP_MV = 0.5
_NOT_PRINTED = "not printed"


# ----------------------------------------------------------------------------------------------- checks


def _checked_signal(signal_mv: np.ndarray, fs_hz: float, where: str) -> np.ndarray:
    sig = np.asarray(signal_mv, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[1] != N_LEADS or sig.shape[0] < 1:
        raise ValueError(f"{where}: signal_mv must have shape (T, {N_LEADS}) with T >= 1, got {sig.shape}")
    if np.isinf(sig).any():
        raise ValueError(f"{where}: signal_mv contains inf")
    if not (isinstance(fs_hz, int | float | np.integer | np.floating) and math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"{where}: fs_hz must be a positive number, got {fs_hz!r}")
    return sig


def _check_free(paths: Sequence[Path], overwrite: bool) -> None:
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path}: already exists; pass overwrite=True to replace it")


@contextlib.contextmanager
def _atomic_file(path: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary path next to ``path``; moved onto ``path`` when the block ends without an error, else removed."""
    _check_free([path], overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _check_free([path], overwrite)  # something may have appeared while we wrote
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _nan_runs(column: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) sample ranges where ``column`` is NaN."""
    missing = np.concatenate(([False], np.isnan(column), [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(missing))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def printed_intervals_s(signal_mv: np.ndarray, fs_hz: float) -> dict[str, list[list[float]]]:
    """Per lead, the [start_s, end_s) stretches where it holds values (not NaN); an empty list: not printed."""
    sig = np.asarray(signal_mv, dtype=np.float64)
    out: dict[str, list[list[float]]] = {}
    for i, lead in enumerate(LEADS):
        printed = np.concatenate(([False], ~np.isnan(sig[:, i]), [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(printed))
        out[lead] = [
            [round(a / fs_hz, 6), round(b / fs_hz, 6)] for a, b in zip(edges[::2], edges[1::2], strict=True)
        ]
    return out


def _meta_lines(meta: Mapping[str, Any] | None) -> list[str]:
    """``key: value`` lines for the scalar entries of ``meta`` (for free-text header fields)."""
    lines = []
    for key, value in (meta or {}).items():
        plain = to_jsonable(value)
        if plain is None or isinstance(plain, bool | int | float | str):
            text = re.sub(r"\s+", " ", f"{key}: {plain}").strip()
            lines.append(text[:200])
    return lines


# ------------------------------------------------------------------------------------------------- CSV


def write_csv(
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """``<stem>.csv``: the Kaggle signal CSV (columns I ... V6, mV, NaN as an empty field), written atomically."""
    from ecgdl.signals.io import write_kaggle_signal_csv
    from ecgdl.signals.record import EcgRecord

    path = Path(out_dir) / f"{stem}.csv"
    sig = _checked_signal(signal_mv, fs_hz, str(path))
    with _atomic_file(path, overwrite) as tmp:
        write_kaggle_signal_csv(EcgRecord(sig, float(fs_hz), stem), tmp)
    return [path]


# ------------------------------------------------------------------------------------------------ WFDB


def wfdb_record_name(stem: str) -> str:
    """``stem`` as a WFDB record name: characters other than letters, digits, '-' and '_' become '_'."""
    name = re.sub(r"[^-\w]", "_", stem, flags=re.ASCII)
    return name or "record"


def _wfdb_adc_gain(peak_mv: float) -> float:
    """Digital units per mV: 1000 (1 uV steps) unless the peak needs coarser ones to fit in 16 bits."""
    if peak_mv * _UV_PER_MV <= _INT16_MAX:
        return _UV_PER_MV
    return math.floor(_INT16_MAX / peak_mv * 1e6) / 1e6


def write_wfdb(
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """``<name>.hea`` and ``<name>.dat`` (format 16, mV, leads as signal names), ``name`` = :func:`wfdb_record_name`.

    NaN samples are stored as WFDB's missing value and read back as NaN. The scalar entries of ``meta`` become
    header comments. Both files are written into a temporary folder under ``out_dir`` with their final names
    and then moved into place (the data file first, so a header never points at a missing file).
    """
    import wfdb

    out = Path(out_dir)
    name = wfdb_record_name(stem)
    targets = [out / f"{name}.dat", out / f"{name}.hea"]
    sig = _checked_signal(signal_mv, fs_hz, str(targets[1]))
    _check_free(targets, overwrite)
    finite = sig[np.isfinite(sig)]
    peak_mv = float(np.abs(finite).max()) if finite.size else 0.0
    adc_gain = _wfdb_adc_gain(peak_mv)
    fs = float(fs_hz)
    comments = [
        "ecgdl: digitized from a picture of a paper ECG; NaN (missing value) where a lead was not printed"
    ]
    comments += _meta_lines(meta)
    out.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".part", dir=out))
    try:
        wfdb.wrsamp(
            name,
            fs=int(fs) if fs.is_integer() else fs,
            units=["mV"] * N_LEADS,
            sig_name=list(LEADS),
            p_signal=sig,
            fmt=["16"] * N_LEADS,
            adc_gain=[adc_gain] * N_LEADS,
            baseline=[0] * N_LEADS,
            comments=comments,
            write_dir=str(tmp_dir),
        )
        _check_free(targets, overwrite)
        for target in targets:
            os.replace(tmp_dir / target.name, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return [targets[1], targets[0]]


# ------------------------------------------------------------------------------------------------- EDF


def _edf_record_s(fs_hz: float, where: str) -> int:
    """The shortest whole number of seconds that holds a whole number of samples at ``fs_hz``."""
    for seconds in range(1, _EDF_MAX_RECORD_S + 1):
        n = fs_hz * seconds
        if abs(n - round(n)) < 1e-6:
            return seconds
    raise ValueError(
        f"{where}: EDF needs a whole number of samples in a record of a whole number of seconds; fs_hz={fs_hz} "
        f"gives none up to {_EDF_MAX_RECORD_S} s (resample to a rate such as 500 Hz first)"
    )


def _edf_range_mv(column: np.ndarray) -> float:
    """Symmetric physical bound of one lead: a multiple of 0.5 mV about 10 % above its peak, at least 1 mV."""
    finite = column[np.isfinite(column)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    return max(1.0, math.ceil(peak * 1.1 / _EDF_RANGE_STEP_MV) * _EDF_RANGE_STEP_MV)


def write_edf(
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """``<stem>.edf``: EDF+ with 12 signals labelled ``ECG <lead>`` in mV, digital range -32768 ... 32767.

    Each lead's physical range is symmetric about 0 (see the module docstring), so the round trip is within half
    a step (under 0.5 uV for leads under +-30 mV). Records last the shortest whole number of seconds holding a
    whole number of samples (1 s at 500, 250 or 100 Hz). NaN samples are written as 0 mV and every unprinted
    stretch is an annotation ``<lead> not printed``; a lead printed nowhere also has ``not printed`` in its
    transducer field. A signal that does not fill its last record is padded with 0 mV, annotated
    ``padding (no signal)``.
    """
    import pyedflib

    path = Path(out_dir) / f"{stem}.edf"
    sig = _checked_signal(signal_mv, fs_hz, str(path))
    fs = float(fs_hz)
    record_s = _edf_record_s(fs, str(path))
    per_record = round(fs * record_s)
    n = sig.shape[0]
    n_total = -(-n // per_record) * per_record
    bounds = [_edf_range_mv(sig[:, i]) for i in range(N_LEADS)]
    if max(bounds) >= 1e6:
        raise ValueError(
            f"{path}: |signal| reaches {max(bounds):.0f} mV, beyond what an EDF header can state"
        )
    headers, digital = [], []
    for i, lead in enumerate(LEADS):
        column = sig[:, i]
        bound = bounds[i]
        codes = np.rint((np.nan_to_num(column, nan=0.0) + bound) / (2 * bound) * 65535.0 - 32768.0)
        padded = np.zeros(n_total, dtype=np.int32)  # code 0: 0 mV to within half a step
        padded[:n] = np.clip(codes, -32768, _INT16_MAX).astype(np.int32)
        digital.append(padded)
        printed = bool(np.isfinite(column).any())
        headers.append(
            {
                "label": f"ECG {lead}",
                "dimension": "mV",
                "sample_frequency": fs,
                "physical_min": -bound,
                "physical_max": bound,
                "digital_min": -32768,
                "digital_max": _INT16_MAX,
                "transducer": "digitized paper ECG" if printed else f"lead {_NOT_PRINTED} (written as 0 mV)",
                "prefilter": "",
            }
        )
    with _atomic_file(path, overwrite) as tmp:
        writer = pyedflib.EdfWriter(str(tmp), N_LEADS, file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            writer.setSignalHeaders(headers)
            writer.setEquipment("ecgdl")
            with warnings.catch_warnings():  # pyedflib warns whenever a record duration is set
                warnings.simplefilter("ignore", UserWarning)
                writer.setDatarecordDuration(record_s)
            writer.writeSamples(digital, digital=True)
            for i, lead in enumerate(LEADS):
                for a, b in _nan_runs(sig[:, i]):
                    writer.writeAnnotation(a / fs, (b - a) / fs, f"{lead} {_NOT_PRINTED}")
            if n_total > n:
                writer.writeAnnotation(n / fs, (n_total - n) / fs, "padding (no signal)")
        finally:
            writer.close()
    return [path]


# ----------------------------------------------------------------------------------------------- DICOM


def _ds_text(value: float) -> str:
    """``value`` as a DICOM decimal string (at most 16 characters)."""
    text = f"{value:.10g}"
    return text if len(text) <= 16 else f"{value:.6e}"


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _runs_text(runs: list[tuple[int, int]], fs_hz: float) -> str:
    return ", ".join(f"{a / fs_hz:.3f}-{b / fs_hz:.3f} s" for a, b in runs)


def write_dicom(
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """``<stem>.dcm``: a DICOM 12-Lead ECG Waveform object (SOP class 1.2.840.10008.5.1.4.1.1.9.1.1).

    One multiplex group of 12 channels, 16-bit signed samples, each channel's source coded from CID 3001 (MDC)
    and its sensitivity in uV (UCUM) per step (1 uV while the lead stays within +-32.767 mV). Patient and
    study fields are present and empty; the UIDs are new. Content and acquisition date/time are the time of
    writing (when the paper ECG was recorded is not known). NaN samples are written as 0; a lead not fully
    printed gets a waveform annotation naming its unprinted stretches, and a lead printed nowhere is labelled
    ``<lead> not printed``. The scalar entries of ``meta`` (layout, gain, confidence ...) go into one more
    waveform annotation's text. DICOM ECG waveforms hold 200 to 1000 Hz and at most 16384 samples per lead:
    other signals raise ValueError (resample first).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence as DicomSequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    path = Path(out_dir) / f"{stem}.dcm"
    sig = _checked_signal(signal_mv, fs_hz, str(path))
    fs = float(fs_hz)
    lo, hi = DICOM_FS_RANGE_HZ
    if not lo <= fs <= hi:
        raise ValueError(
            f"{path}: a DICOM ECG waveform holds {lo:.0f} to {hi:.0f} Hz, got fs_hz={fs:g}; "
            "resample the reading first (ecgdl.signals.io.resample_record)"
        )
    if sig.shape[0] > _DICOM_MAX_SAMPLES:
        raise ValueError(
            f"{path}: a DICOM 12-lead ECG holds at most {_DICOM_MAX_SAMPLES} samples per lead, got {sig.shape[0]}"
        )
    _check_free([path], overwrite)

    sig_uv = np.nan_to_num(sig, nan=0.0) * _UV_PER_MV
    sensitivities = []
    for i in range(N_LEADS):
        peak_uv = float(np.abs(sig_uv[:, i]).max())
        sens = 1.0 if peak_uv <= _INT16_MAX else math.ceil(peak_uv / _INT16_MAX * 1e3) / 1e3
        sensitivities.append(float(_ds_text(sens)))
    codes = np.rint(sig_uv / np.asarray(sensitivities)).clip(-32768, _INT16_MAX).astype("<i2")

    now = dt.datetime.now()
    sop_uid = generate_uid()
    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = _DICOM_12_LEAD_ECG
    file_meta.MediaStorageSOPInstanceUID = sop_uid
    file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = file_meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = _DICOM_12_LEAD_ECG
    ds.SOPInstanceUID = sop_uid
    # patient and study: type 2 (present, may be empty): nothing about them is known from a picture
    ds.PatientName = ""
    ds.PatientID = ""
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = generate_uid()
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.AccessionNumber = ""
    ds.Modality = "ECG"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = ""
    ds.Manufacturer = ""
    ds.SoftwareVersions = "ecgdl"
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.AcquisitionContextSequence = DicomSequence([])

    channels = []
    annotations = []
    for i, lead in enumerate(LEADS):
        code_value, meaning = _MDC_LEAD_CODES[lead]
        channel = Dataset()
        channel.ChannelSourceSequence = DicomSequence([_code(code_value, "MDC", meaning)])
        printed = bool(np.isfinite(sig[:, i]).any())
        channel.ChannelLabel = lead if printed else f"{lead} {_NOT_PRINTED}"
        channel.ChannelSensitivity = _ds_text(sensitivities[i])
        channel.ChannelSensitivityUnitsSequence = DicomSequence([_code("uV", "UCUM", "microvolt")])
        channel.ChannelSensitivityCorrectionFactor = "1"
        channel.ChannelBaseline = "0"
        channel.ChannelSampleSkew = "0"
        channel.WaveformBitsStored = 16
        channels.append(channel)
        runs = _nan_runs(sig[:, i])
        if runs:
            note = Dataset()
            note.UnformattedTextValue = f"{lead} {_NOT_PRINTED} (written as 0) at {_runs_text(runs, fs)}"[
                :1024
            ]
            note.ReferencedWaveformChannels = [1, i + 1]
            annotations.append(note)
    lines = _meta_lines(meta)
    if lines:
        note = Dataset()
        note.UnformattedTextValue = ("ecgdl reading: " + "; ".join(lines))[:1024]
        note.ReferencedWaveformChannels = [v for i in range(N_LEADS) for v in (1, i + 1)]
        annotations.append(note)

    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.WaveformOriginality = "DERIVED"  # read from a picture, not acquired
    group.NumberOfWaveformChannels = N_LEADS
    group.NumberOfWaveformSamples = int(sig.shape[0])
    group.SamplingFrequency = _ds_text(fs)
    group.MultiplexGroupLabel = "RHYTHM"
    group.ChannelDefinitionSequence = DicomSequence(channels)
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = (
        codes.tobytes()
    )  # samples interleaved: channel 1 ... 12 of sample 1, then sample 2 ...
    ds.WaveformSequence = DicomSequence([group])
    if annotations:
        ds.WaveformAnnotationSequence = DicomSequence(annotations)

    with _atomic_file(path, overwrite) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return [path]


# ------------------------------------------------------------------------------------------------ JSON


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists, NaN and inf become None,
    paths and other objects their text, dataclasses dicts, mapping keys text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return str(value)


def write_json_sidecar(
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """``<stem>.json``: ``{"signal": {...}, "meta": {...}}``.

    ``signal`` describes the reading (``fs_hz``, ``n_samples``, ``duration_s``, ``leads``, ``units``, and per lead
    the ``printed_s`` stretches); ``meta`` is ``meta`` made JSON-safe by :func:`to_jsonable` (page geometry,
    layout, gain, speed, confidence, reader, turned_deg ... whatever the digitizer reported).
    """
    path = Path(out_dir) / f"{stem}.json"
    sig = _checked_signal(signal_mv, fs_hz, str(path))
    fs = float(fs_hz)
    doc = {
        "signal": {
            "fs_hz": fs,
            "n_samples": int(sig.shape[0]),
            "duration_s": sig.shape[0] / fs,
            "leads": list(LEADS),
            "units": "mV",
            "printed_s": printed_intervals_s(sig, fs),
        },
        "meta": to_jsonable(dict(meta or {})),
    }
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    with _atomic_file(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return [path]


# -------------------------------------------------------------------------------------------- registry

Writer = Callable[..., list[Path]]

#: Output format name -> writer ``(out_dir, stem, signal_mv, fs_hz, meta=None, *, overwrite=False) -> paths``.
WRITERS: dict[str, Writer] = {
    "csv": write_csv,
    "wfdb": write_wfdb,
    "edf": write_edf,
    "dicom": write_dicom,
    "json": write_json_sidecar,
}
#: The file suffixes each format writes (WFDB's names come from :func:`wfdb_record_name`).
OUTPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "wfdb": (".hea", ".dat"),
    "edf": (".edf",),
    "dicom": (".dcm",),
    "json": (".json",),
}


def _check_formats(formats: Sequence[str] | str) -> list[str]:
    names = [formats] if isinstance(formats, str) else list(formats)
    unknown = [f for f in names if f not in WRITERS]
    if unknown:
        raise KeyError(f"unknown output format(s) {unknown}; valid: {', '.join(WRITERS)}")
    return list(dict.fromkeys(names))


def output_paths(formats: Sequence[str] | str, out_dir: str | Path, stem: str) -> list[Path]:
    """The files :func:`write_outputs` would write for ``formats`` (to check for earlier results)."""
    out = Path(out_dir)
    paths = []
    for fmt in _check_formats(formats):
        base = wfdb_record_name(stem) if fmt == "wfdb" else stem
        paths += [out / f"{base}{suffix}" for suffix in OUTPUT_SUFFIXES[fmt]]
    return paths


def write_outputs(
    formats: Sequence[str] | str,
    out_dir: str | Path,
    stem: str,
    signal_mv: np.ndarray,
    fs_hz: float,
    meta: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the reading in every format of ``formats`` (names of :data:`WRITERS`); returns the paths written.

    An unknown name raises KeyError listing the valid ones. Without ``overwrite`` nothing is written when any
    of the files exists already (FileExistsError names it).
    """
    names = _check_formats(formats)
    _check_free(output_paths(names, out_dir, stem), overwrite)
    written: list[Path] = []
    for fmt in names:
        written += WRITERS[fmt](out_dir, stem, signal_mv, fs_hz, meta, overwrite=overwrite)
    return written
