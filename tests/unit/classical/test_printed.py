"""Classical digitizer, the speed and gain printed on a page (:mod:`ecgdl.classical.printed`)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.gridremoval import extract_ink
from tests.unit.classical.pages import plain_record, snr_db


@pytest.mark.parametrize(
    ("speed", "gain", "grid"), [(25.0, 10.0, "red"), (50.0, 5.0, "green"), (50.0, 10.0, "bw")]
)
def test_printed_speed_and_gain_are_read(speed: float, gain: float, grid: str) -> None:
    """Without a pulse the footer is the only calibration: "50mm/s" and "5mm/mV" are read, and the page is
    digitized at them (a 2x speed or gain error would leave the SNR near 0 dB)."""
    from ecgdl.classical.gridremoval import text_like_components
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    config = RenderConfig(speed_mm_per_s=speed, gain_mm_per_mv=gain, grid_colour=grid, pulse="none")
    img, truth = render_ecg(rec, config, np.random.default_rng(1))
    ink = extract_ink(img, px_per_mm=truth.px_per_mm)
    printed = read_printed_scales(
        text_like_components(ink.mask, truth.px_per_mm), truth.px_per_mm, ink.weight
    )
    assert (printed.speed_mm_per_s, printed.gain_mm_per_mv) == (speed, gain)
    assert min(printed.speed_score, printed.gain_score) >= 0.7
    out = ClassicalDigitizer().digitize(img, rec.fs_hz, rec.n_samples)
    assert (out.meta["speed_mm_per_s"], out.meta["gain_mm_per_mv"]) == (speed, gain)
    assert out.meta["calibration"] == "grid+print"
    assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= 18.0
    # without the footer nothing is read and the defaults hold
    bare, _ = render_ecg(rec, RenderConfig(**{**config.__dict__, "footer": False}), np.random.default_rng(1))
    out = ClassicalDigitizer().digitize(bare, rec.fs_hz, rec.n_samples)
    assert out.meta["printed_speed_mm_per_s"] is None and out.meta["printed_gain_mm_per_mv"] is None
    assert (out.meta["speed_mm_per_s"], out.meta["gain_mm_per_mv"]) == (25.0, 10.0)


def test_printed_scales_ignore_other_words() -> None:
    """Header words ("Age: 61 yrs") and lead labels never pass for a speed or a gain."""
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render.text import draw_text

    page = np.full((200, 1400, 3), 255, np.uint8)
    for i, word in enumerate(
        ["Age:", "61", "yrs", "Height:", "165", "cm", "aVR", "V5", "1988-04-28,", "mm/s"]
    ):
        draw_text(page, word, 20 + 130 * i, 60, 28)
    text = page.min(axis=2) < 128
    printed = read_printed_scales(text, 7.874)
    assert printed.speed_mm_per_s is None and printed.gain_mm_per_mv is None
