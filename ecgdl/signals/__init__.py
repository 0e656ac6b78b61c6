"""Signals: the 12-lead record type, a synthetic generator, and readers/writers for WFDB, PTB-XL and the Kaggle layout."""

from ecgdl.signals.io import (
    KaggleItem,
    KaggleLayout,
    PtbXlIndex,
    read_kaggle_signal_csv,
    read_test_csv,
    read_wfdb,
    resample_record,
    write_kaggle_signal_csv,
    write_wfdb,
)
from ecgdl.signals.record import EcgRecord
from ecgdl.signals.sources import KaggleSource, PtbXlSource, SignalSource, SyntheticSource, build_source
from ecgdl.signals.synthetic import SyntheticECGConfig, generate_ecg

__all__ = [
    "EcgRecord",
    "KaggleItem",
    "KaggleLayout",
    "KaggleSource",
    "PtbXlIndex",
    "PtbXlSource",
    "SignalSource",
    "SyntheticECGConfig",
    "SyntheticSource",
    "build_source",
    "generate_ecg",
    "read_kaggle_signal_csv",
    "read_test_csv",
    "read_wfdb",
    "resample_record",
    "write_kaggle_signal_csv",
    "write_wfdb",
]
