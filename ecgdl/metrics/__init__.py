"""Metrics: the Kaggle SNR (exact, vectorised), waveform metrics, Einthoven consistency, torchmetrics wrappers
and Kaggle submission / local scoring helpers.

``ecgdl.metrics.torchmetrics`` (imports torch) is imported on demand: ``from ecgdl.metrics.torchmetrics import KaggleSNR``.
"""

from ecgdl.metrics.einthoven import COLUMNS_3X4_S, EinthovenResult, einthoven_consistency_db
from ecgdl.metrics.kaggle import FolderScore, score_folder, write_submission
from ecgdl.metrics.signal import RPeakMetrics, dtw_distance, pearson_r, rmse_mv, rpeak_metrics
from ecgdl.metrics.snr import (
    SnrResult,
    align_prediction,
    find_lags,
    max_lag_samples,
    snr_challenge2024,
    snr_kaggle,
)

__all__ = [
    "COLUMNS_3X4_S",
    "EinthovenResult",
    "FolderScore",
    "RPeakMetrics",
    "SnrResult",
    "align_prediction",
    "dtw_distance",
    "einthoven_consistency_db",
    "find_lags",
    "max_lag_samples",
    "pearson_r",
    "rmse_mv",
    "rpeak_metrics",
    "score_folder",
    "snr_challenge2024",
    "snr_kaggle",
    "write_submission",
]
