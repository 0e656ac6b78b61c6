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

import json
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgdl.constants import LEADS, N_LEADS
from ecgdl.signals.dicom import DICOM_FS_RANGE_HZ, write_dicom
from ecgdl.signals.filekit import (
    EDF_MAX_RECORD_S,
    EDF_RANGE_STEP_MV,
    INT16_MAX,
    NOT_PRINTED,
    UV_PER_MV,
    atomic_file,
    check_free,
    checked_signal,
    meta_lines,
    nan_runs,
    to_jsonable,
)

__all__ = [
    "DICOM_FS_RANGE_HZ",
    "OUTPUT_SUFFIXES",
    "WRITERS",
    "check_formats",
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
    sig = checked_signal(signal_mv, fs_hz, str(path))
    with atomic_file(path, overwrite) as tmp:
        write_kaggle_signal_csv(EcgRecord(sig, float(fs_hz), stem), tmp)
    return [path]


# ------------------------------------------------------------------------------------------------ WFDB


def wfdb_record_name(stem: str) -> str:
    """``stem`` as a WFDB record name: characters other than letters, digits, '-' and '_' become '_'."""
    name = re.sub(r"[^-\w]", "_", stem, flags=re.ASCII)
    return name or "record"


def _wfdb_adc_gain(peak_mv: float) -> float:
    """Digital units per mV: 1000 (1 uV steps) unless the peak needs coarser ones to fit in 16 bits."""
    if peak_mv * UV_PER_MV <= INT16_MAX:
        return UV_PER_MV
    return math.floor(INT16_MAX / peak_mv * 1e6) / 1e6


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
    sig = checked_signal(signal_mv, fs_hz, str(targets[1]))
    check_free(targets, overwrite)
    finite = sig[np.isfinite(sig)]
    peak_mv = float(np.abs(finite).max()) if finite.size else 0.0
    adc_gain = _wfdb_adc_gain(peak_mv)
    fs = float(fs_hz)
    comments = [
        "ecgdl: digitized from a picture of a paper ECG; NaN (missing value) where a lead was not printed"
    ]
    comments += meta_lines(meta)
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
        check_free(targets, overwrite)
        for target in targets:
            os.replace(tmp_dir / target.name, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return [targets[1], targets[0]]


# ------------------------------------------------------------------------------------------------- EDF


def _edf_record_s(fs_hz: float, where: str) -> int:
    """The shortest whole number of seconds that holds a whole number of samples at ``fs_hz``."""
    for seconds in range(1, EDF_MAX_RECORD_S + 1):
        n = fs_hz * seconds
        if abs(n - round(n)) < 1e-6:
            return seconds
    raise ValueError(
        f"{where}: EDF needs a whole number of samples in a record of a whole number of seconds; fs_hz={fs_hz} "
        f"gives none up to {EDF_MAX_RECORD_S} s (resample to a rate such as 500 Hz first)"
    )


def _edf_range_mv(column: np.ndarray) -> float:
    """Symmetric physical bound of one lead: a multiple of 0.5 mV about 10 % above its peak, at least 1 mV."""
    finite = column[np.isfinite(column)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    return max(1.0, math.ceil(peak * 1.1 / EDF_RANGE_STEP_MV) * EDF_RANGE_STEP_MV)


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
    sig = checked_signal(signal_mv, fs_hz, str(path))
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
        padded[:n] = np.clip(codes, -32768, INT16_MAX).astype(np.int32)
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
                "digital_max": INT16_MAX,
                "transducer": "digitized paper ECG" if printed else f"lead {NOT_PRINTED} (written as 0 mV)",
                "prefilter": "",
            }
        )
    with atomic_file(path, overwrite) as tmp:
        writer = pyedflib.EdfWriter(str(tmp), N_LEADS, file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            writer.setSignalHeaders(headers)
            writer.setEquipment("ecgdl")
            with warnings.catch_warnings():  # pyedflib warns whenever a record duration is set
                warnings.simplefilter("ignore", UserWarning)
                writer.setDatarecordDuration(record_s)
            writer.writeSamples(digital, digital=True)
            for i, lead in enumerate(LEADS):
                for a, b in nan_runs(sig[:, i]):
                    writer.writeAnnotation(a / fs, (b - a) / fs, f"{lead} {NOT_PRINTED}")
            if n_total > n:
                writer.writeAnnotation(n / fs, (n_total - n) / fs, "padding (no signal)")
        finally:
            writer.close()
    return [path]


# ------------------------------------------------------------------------------------------------ JSON


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
    sig = checked_signal(signal_mv, fs_hz, str(path))
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
    with atomic_file(path, overwrite) as tmp:
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


def check_formats(formats: Sequence[str] | str) -> list[str]:
    """``formats`` (a name or a list) as a list without repeats; KeyError listing the valid names for an
    unknown one."""
    names = [formats] if isinstance(formats, str) else list(formats)
    unknown = [f for f in names if f not in WRITERS]
    if unknown:
        raise KeyError(f"unknown output format(s) {unknown}; valid: {', '.join(WRITERS)}")
    return list(dict.fromkeys(names))


def output_paths(formats: Sequence[str] | str, out_dir: str | Path, stem: str) -> list[Path]:
    """The files :func:`write_outputs` would write for ``formats`` (to check for earlier results)."""
    out = Path(out_dir)
    paths = []
    for fmt in check_formats(formats):
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
    names = check_formats(formats)
    check_free(output_paths(names, out_dir, stem), overwrite)
    written: list[Path] = []
    for fmt in names:
        written += WRITERS[fmt](out_dir, stem, signal_mv, fs_hz, meta, overwrite=overwrite)
    return written
