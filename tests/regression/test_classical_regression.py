"""Regression of the classical digitizer on the shared development pages (``../shared/data``, skipped when
absent): the configured reader (``conf/model/classical.yaml``, what ``python evaluate.py model=classical``
runs) keeps its dev_eik_clean score above a floor, and its time origin after ECG-Image-Kit's calibration
pulses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgdl.classical import ClassicalDigitizer, load_image
from ecgdl.constants import LEADS

pytestmark = [pytest.mark.regression, pytest.mark.shared_data]

#: dev_eik_clean read by ``python evaluate.py model=classical``: 26.99 dB when written (commit 24cc05d, and
#: after the split into stage modules, which kept every reading identical); the floor leaves half a dB.
DEV_EIK_CLEAN_MIN_DB = 26.5


def test_classical_on_dev_eik_clean_keeps_its_floor(evaluate_set, shared_data: Path) -> None:
    metrics = evaluate_set(["model=classical", f"data.root={shared_data / 'dev_eik_clean'}"])
    assert metrics["n_images"] == 10 and metrics["n_failed"] == 0
    assert metrics["snr_db"] >= DEV_EIK_CLEAN_MIN_DB


def test_time_origin_after_an_ecg_image_kit_pulse(shared_data: Path) -> None:
    """Record 2132 of dev_eik_clean has ECG-Image-Kit's calibration pulses, whose falling edge lies 1.5 samples
    after the lead's first sample. Read with that overlap, the metric's best lag is 0 on every lead; read as if
    the lead began at the fall, the whole page is 3 ms (1.5 samples) late and the lags are 1-2 samples (each
    lag costs the metric the lead's first samples, counted as 0 mV)."""
    from ecgdl.metrics.snr import find_lags

    root = shared_data / "dev_eik_clean"
    truth = pd.read_csv(root / "train" / "2132" / "2132.csv")[list(LEADS)].to_numpy()
    image = load_image(root / "train" / "2132" / "2132-0001.png")
    lags = {}
    for overlap in (1.5, 0.0):
        rec = ClassicalDigitizer(pulse_overlap_samples=overlap).digitize(image, 500.0, 5000, "2132")
        assert rec.meta["n_pulses"] >= 4
        lags[overlap] = []
        for k in range(12):
            rows = np.isfinite(truth[:, k])
            t, p = truth[rows, k], rec.signal_mv[rows, k]
            lags[overlap].append(int(find_lags(t - t.mean(), p - p.mean(), 100)))
    assert lags[1.5] == [0] * 12
    assert min(lags[0.0]) >= 1
    with pytest.raises(ValueError, match="pulse_overlap_samples"):
        ClassicalDigitizer(pulse_overlap_samples=-1.0)
