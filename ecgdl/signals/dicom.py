"""The DICOM 12-lead ECG waveform writer (SOP class 1.2.840.10008.5.1.4.1.1.9.1.1, pydicom): one multiplex group
of 12 channels coded by CID 3001 (MDC), 16-bit samples at a 1 uV sensitivity where the reading allows. Used through
:func:`ecgdl.signals.writers.write_outputs` (``format=dicom``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ecgdl.constants import LEADS, N_LEADS
from ecgdl.signals.filekit import (
    INT16_MAX,
    NOT_PRINTED,
    UV_PER_MV,
    atomic_file,
    check_free,
    checked_signal,
    meta_lines,
    nan_runs,
)

__all__ = ["DICOM_FS_RANGE_HZ", "write_dicom"]

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
    sig = checked_signal(signal_mv, fs_hz, str(path))
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
    check_free([path], overwrite)

    sig_uv = np.nan_to_num(sig, nan=0.0) * UV_PER_MV
    sensitivities = []
    for i in range(N_LEADS):
        peak_uv = float(np.abs(sig_uv[:, i]).max())
        sens = 1.0 if peak_uv <= INT16_MAX else math.ceil(peak_uv / INT16_MAX * 1e3) / 1e3
        sensitivities.append(float(_ds_text(sens)))
    codes = np.rint(sig_uv / np.asarray(sensitivities)).clip(-32768, INT16_MAX).astype("<i2")

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
        channel.ChannelLabel = lead if printed else f"{lead} {NOT_PRINTED}"
        channel.ChannelSensitivity = _ds_text(sensitivities[i])
        channel.ChannelSensitivityUnitsSequence = DicomSequence([_code("uV", "UCUM", "microvolt")])
        channel.ChannelSensitivityCorrectionFactor = "1"
        channel.ChannelBaseline = "0"
        channel.ChannelSampleSkew = "0"
        channel.WaveformBitsStored = 16
        channels.append(channel)
        runs = nan_runs(sig[:, i])
        if runs:
            note = Dataset()
            note.UnformattedTextValue = f"{lead} {NOT_PRINTED} (written as 0) at {_runs_text(runs, fs)}"[
                :1024
            ]
            note.ReferencedWaveformChannels = [1, i + 1]
            annotations.append(note)
    lines = meta_lines(meta)
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

    with atomic_file(path, overwrite) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return [path]
