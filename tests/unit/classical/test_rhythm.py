"""Naming a 3x4 page's rhythm strip by the short lead it matches (ecgdl.classical.rhythm)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.classical.resample import SegmentSignal
from ecgdl.classical.rhythm import limb_lead_ii, rhythm_match, rhythm_strip_lead
from ecgdl.render.renderer import RenderConfig, render_ecg
from ecgdl.signals.synthetic import generate_ecg

PX_PER_S = 200.0


def _curve(t: np.ndarray, seed: int) -> np.ndarray:
    """A beat train of a shape of its own (page rows: down is positive)."""
    rng = np.random.default_rng(seed)
    beats = np.arange(0.3, 10.0, 0.8)
    widths, heights = rng.uniform(0.01, 0.04, 3), rng.uniform(-60, 60, 3)
    offsets = rng.uniform(-0.15, 0.25, 3)
    y = np.zeros_like(t)
    for b in beats:
        for w, h, o in zip(widths, heights, offsets, strict=True):
            y += h * np.exp(-0.5 * ((t - b - o) / w) ** 2)
    return 500.0 - y


def _segment(lead: str, t0: float, dur: float, seed: int, lag_s: float = 0.0) -> SegmentSignal:
    x = np.arange(0, dur * PX_PER_S)
    t = t0 + x / PX_PER_S
    return SegmentSignal(lead, t0, dur, 0.0, 500.0, PX_PER_S, 80.0, x, _curve(t + lag_s, seed))


SHORTS = {"II": 1, "V1": 2, "V5": 3}
WINDOWS = {"II": 0.0, "V1": 5.0, "V5": 7.5}


def _shorts() -> list[SegmentSignal]:
    return [_segment(lead, WINDOWS[lead], 2.5, seed) for lead, seed in SHORTS.items()]


@pytest.mark.parametrize("truth", ["II", "V1", "V5"])
def test_the_strip_is_named_after_the_short_lead_it_shows(truth: str) -> None:
    strip = _segment("II", 0.0, 10.0, SHORTS[truth], lag_s=0.04)  # printed 0.04 s off the rows' time origin
    lead, scores = rhythm_strip_lead(strip, _shorts())
    assert lead == truth
    assert scores[truth] > 0.99 and all(scores[k] < 0.9 for k in scores if k != truth)


def test_a_strip_matching_no_short_lead_keeps_the_layouts_name() -> None:
    strip = _segment("II", 0.0, 10.0, 9)
    lead, scores = rhythm_strip_lead(strip, _shorts())
    assert lead == "II" and max(scores["V1"], scores["V5"]) < 0.6
    # a short segment too short to compare gives no score at all
    assert np.isnan(rhythm_match(strip, _segment("V1", 5.0, 0.05, 2)))


def _beats(t: np.ndarray, t_wave: float) -> np.ndarray:
    """Tall narrow QRS spikes at 0.3 + 0.8 k s and a T wave of height ``t_wave`` px (page rows, down positive)."""
    y = np.zeros_like(t)
    for b in np.arange(0.3, 10.0, 0.8):
        y += 60 * np.exp(-0.5 * ((t - b) / 0.015) ** 2) + t_wave * np.exp(-0.5 * ((t - b - 0.25) / 0.06) ** 2)
    return 500.0 - y


def test_a_strip_whose_qrs_the_tracer_lost_is_matched_on_what_it_traced() -> None:
    # II and V1 beat together with the same QRS and opposite T waves. The strip shows II, but its QRS spikes
    # within the II window (0-2.5 s) were not traced (NaN): a line drawn across those gaps matches II's short
    # segment at 0.34 while the strip's traced V1 window matches V1 at 0.70 on the spikes' timing alone.
    def seg(lead: str, t0: float, dur: float, t_wave: float) -> SegmentSignal:
        x = np.arange(0, dur * PX_PER_S)
        return SegmentSignal(lead, t0, dur, 0.0, 500.0, PX_PER_S, 80.0, x, _beats(t0 + x / PX_PER_S, t_wave))

    strip = seg("II", 0.0, 10.0, 15.0)
    t = strip.x_px / PX_PER_S
    lost = (np.abs((t - 0.3 + 0.4) % 0.8 - 0.4) < 0.04) & (t < 2.5)
    strip.y_px[lost] = np.nan
    lead, scores = rhythm_strip_lead(strip, [seg("II", 0.0, 2.5, 15.0), seg("V1", 5.0, 2.5, -15.0)])
    assert lead == "II"
    assert scores["II"] > 0.99 and 0.6 < scores["V1"] < 0.8


def _limb_columns(t_wave_i: float, t_wave_ii: float) -> list[SegmentSignal]:
    """The six limb leads of a 3x4 page (I, II, III at 0-2.5 s, aVR, aVL, aVF at 2.5-5 s), each on its own row
    (baseline 100 px apart), mixed from two beat trains by Einthoven's and Goldberger's equations."""
    mix = {"I": (1, 0), "II": (0, 1), "III": (-1, 1), "aVR": (-0.5, -0.5), "aVL": (1, -0.5), "aVF": (-0.5, 1)}
    out = []
    for k, (lead, (a, b)) in enumerate(mix.items()):
        t0 = 0.0 if k < 3 else 2.5
        x = np.arange(0, 2.5 * PX_PER_S)
        t = t0 + x / PX_PER_S
        i_px, ii_px = 500.0 - _beats(t, t_wave_i), 500.0 - _beats(t, t_wave_ii)
        base = 100.0 * (k % 3 + 1)
        out.append(SegmentSignal(lead, t0, 2.5, 0.0, base, PX_PER_S, 80.0, x, base - (a * i_px + b * ii_px)))
    return out


def test_lead_ii_from_each_columns_limb_leads_is_exact_on_an_exact_page() -> None:
    shorts = _limb_columns(-20.0, 15.0)
    derived = limb_lead_ii(shorts)
    assert [round(d.t0_s, 1) for d in derived] == [0.0, 2.5]
    for d in derived:
        t = d.t0_s + d.x_px / PX_PER_S
        np.testing.assert_allclose(d.y_px, -(500.0 - _beats(t, 15.0)), atol=1e-9)  # II, down positive
    assert limb_lead_ii(shorts[:1] + shorts[3:4]) == []  # one limb lead per column: nothing to solve


def test_a_strip_traced_badly_in_the_ii_column_is_still_named_ii_through_avl_and_avf() -> None:
    # The strip shows II, but in the II column (0-2.5 s) its tracer went astray for 0.8 s (a stain): there it
    # matches II's short segment at 0.59, below V1's match in the V1 column (0.70, beats alone). In the
    # aVR / aVL / aVF column the limb leads give II, which the strip matches.
    shorts = _limb_columns(-20.0, 15.0)
    x = np.arange(0, 10.0 * PX_PER_S)
    t = x / PX_PER_S
    y = _beats(t, 15.0)
    y[(t > 1.5) & (t < 2.3)] -= np.linspace(0, 60, int(((t > 1.5) & (t < 2.3)).sum()))
    strip = SegmentSignal("II", 0.0, 10.0, 0.0, 500.0, PX_PER_S, 80.0, x, y)
    xv = np.arange(0, 2.5 * PX_PER_S)
    v1 = SegmentSignal("V1", 5.0, 2.5, 0.0, 500.0, PX_PER_S, 80.0, xv, _beats(5.0 + xv / PX_PER_S, -15.0))
    own = rhythm_match(strip, shorts[1])
    assert own < 0.6 < rhythm_match(strip, v1)
    lead, scores = rhythm_strip_lead(strip, [*shorts, v1])
    assert lead == "II" and scores["II"] > 0.99


def test_the_classical_reader_names_a_v1_strip_and_reads_v1_over_10_seconds() -> None:
    rng = np.random.default_rng(5)
    record = generate_ecg(rng, 500.0)
    image, truth = render_ecg(record, RenderConfig(layout="3x4+V1", pulse="start"), rng)
    rec = ClassicalDigitizer().digitize(image, 500.0, 5000)
    assert rec.meta["layout"] == "3x4+V1"
    v1 = rec.signal_mv[:, 6]
    assert np.isfinite(v1).mean() > 0.95  # the strip gives V1 all 10 s
    want = truth.record.signal_mv[:, 6]
    ok = np.isfinite(want) & np.isfinite(v1)
    assert np.corrcoef(v1[ok], want[ok])[0, 1] > 0.95
    assert np.isfinite(rec.signal_mv[:1250, 1]).all() and np.isnan(rec.signal_mv[1400:, 1]).all()  # II: 2.5 s
