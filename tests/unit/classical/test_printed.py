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


@pytest.mark.parametrize(
    ("font", "dpi", "speed", "gain"),
    [
        ("sans", 200.0, 25.0, 20.0),
        ("sans-bold", 150.0, 50.0, 5.0),
        ("serif-bold", 300.0, 25.0, 5.0),
        ("sans", 100.0, 50.0, 10.0),
    ],
)
def test_speed_and_gain_printed_apart_from_their_units_are_read(
    font: str, dpi: float, speed: float, gain: float
) -> None:
    """Footers of other machines print "Speed: 25 mm/s   Limb: 20 mm/mV": a number and its unit as two words.
    The unit must match and the number alone decides (the number is too small a share of the whole string to
    tell 10 from 20)."""
    from ecgdl.classical.gridremoval import text_like_components
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render import RenderConfig, render_ecg

    config = RenderConfig(
        speed_mm_per_s=speed, gain_mm_per_mv=gain, pulse="none", footer_lines=2, font=font, dpi=dpi
    )
    img, truth = render_ecg(plain_record(), config, np.random.default_rng(1))
    ink = extract_ink(img, px_per_mm=truth.px_per_mm)
    printed = read_printed_scales(
        text_like_components(ink.mask, truth.px_per_mm), truth.px_per_mm, ink.weight
    )
    assert (printed.speed_mm_per_s, printed.gain_mm_per_mv) == (speed, gain)


def test_a_number_joined_to_its_unit_across_a_narrow_space_is_not_misread() -> None:
    """ "10 mm/mV" in small print joins into one word; compared with "10mm/mV" alone it matched "2.5mm/mV" best
    (the decimal point's gap looks like the space)."""
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render.text import draw_text

    page = np.full((60, 400, 3), 255, np.uint8)
    draw_text(page, "10 mm/mV", 20, 20, 18)
    text = page.min(axis=2) < 128
    printed = read_printed_scales(text, 7.874, 1.0 - page.min(axis=2) / 255.0)
    assert printed.gain_mm_per_mv == 10.0


def test_print_too_small_to_tell_is_not_read() -> None:
    """A screenshot's footer 3-4 px high: "25mm/s" and "12.5mm/s" cannot be told apart, so nothing is read."""
    from ecgdl.classical.printed import read_printed_scales
    from ecgdl.render.text import draw_text

    page = np.full((40, 200, 3), 255, np.uint8)
    draw_text(page, "25mm/s", 10, 10, 5)
    draw_text(page, "10mm/mV", 80, 10, 5)
    text = page.min(axis=2) < 200
    printed = read_printed_scales(text, 2.0)
    assert printed.speed_mm_per_s is None and printed.gain_mm_per_mv is None
    # the same words 4 times larger are read
    big = np.full((120, 700, 3), 255, np.uint8)
    draw_text(big, "25mm/s", 20, 30, 28)
    draw_text(big, "10mm/mV", 300, 30, 28)
    printed = read_printed_scales(big.min(axis=2) < 128, 7.874)
    assert (printed.speed_mm_per_s, printed.gain_mm_per_mv) == (25.0, 10.0)
