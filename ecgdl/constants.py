"""Project-wide constants: lead order, units and the monitored metric. The one place they are defined."""

from __future__ import annotations

#: Lead order of every 12-lead array in ecgdl (column order of ``signal_mv`` (T, 12)).
LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
N_LEADS: int = len(LEADS)
LEAD_INDEX: dict[str, int] = {name: i for i, name in enumerate(LEADS)}
LIMB_LEADS: tuple[str, ...] = LEADS[:6]
PRECORDIAL_LEADS: tuple[str, ...] = LEADS[6:]

#: Defaults of a standard 12-lead recording.
DEFAULT_FS_HZ: int = 500
DEFAULT_DURATION_S: float = 10.0
#: Sampling rates seen in the Kaggle competition data.
KAGGLE_FS_HZ: tuple[int, ...] = (250, 256, 500, 512, 1000, 1025)

#: Paper conventions.
MM_PER_INCH: float = 25.4
STANDARD_SPEED_MM_PER_S: float = 25.0
STANDARD_GAIN_MM_PER_MV: float = 10.0

#: Kaggle image-type suffixes (``<id>-<type>.png``) and what they are.
KAGGLE_IMAGE_TYPES: dict[str, str] = {
    "0001": "clean",
    "0003": "scan",
    "0004": "bw_scan",
    "0005": "photo",
    "0006": "screen",
    "0009": "stained",
    "0010": "damaged",
    "0011": "mold",
    "0012": "mold_bw",
}

#: The Kaggle metric caps each image's linear S/N ratio at this value (60 dB).
SNR_CAP_LINEAR: float = 1e6
#: The Kaggle metric searches lags of at most this many seconds either way.
MAX_LAG_S: float = 0.2
