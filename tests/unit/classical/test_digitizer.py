"""Classical digitizer as a whole (:mod:`ecgdl.classical.digitizer`): configuration, errors, renders, the page
geometry it returns, and one instance reading several pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgdl.classical import ClassicalDigitizer
from ecgdl.constants import LEADS
from ecgdl.digitizer import DigitizationError, Digitizer
from ecgdl.signals.record import EcgRecord
from tests.unit.classical.pages import plain_record, snr_db


def test_protocol_and_config(project_root: Path) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(project_root / "conf" / "model" / "classical.yaml")
    dig = instantiate(cfg)
    assert isinstance(dig, ClassicalDigitizer) and isinstance(dig, Digitizer)
    keys = set(cfg.keys()) - {"_target_"}
    import inspect

    # every plain keyword is in the config; ink_model is a callable that page networks and the learned-ink
    # fallback pass in code, with the ink_model_mode that goes with it
    in_code = {"self", "ink_model", "ink_model_mode"}
    assert keys == set(inspect.signature(ClassicalDigitizer.__init__).parameters) - in_code
    with pytest.raises(KeyError, match="unknown layout"):
        ClassicalDigitizer(layout="7x7")


def test_digitizer_errors_are_clear() -> None:
    dig = ClassicalDigitizer()
    with pytest.raises(DigitizationError, match="layout"):
        dig.digitize(np.full((600, 800, 3), 255, np.uint8), 500.0, 5000)
    with pytest.raises(DigitizationError, match="too small"):
        dig.digitize(np.zeros((10, 10, 3), np.uint8), 500.0, 5000)
    with pytest.raises(DigitizationError, match="io"):
        dig.digitize(np.zeros((10, 10, 7), np.uint8), 500.0, 5000)
    with pytest.raises(ValueError, match="fs_hz"):
        dig.digitize(np.zeros((100, 100, 3), np.uint8), 0.0, 5000)


def test_digitizer_on_renders(tmp_path: Path) -> None:
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    for cfg, min_db in (
        (RenderConfig(), 18.0),
        (RenderConfig(layout="6x2", grid_colour="green", pulse="start", gain_mm_per_mv=5.0), 15.0),
        (RenderConfig(layout="3x4+3", speed_mm_per_s=50.0, pulse="start", grid_colour="bw"), 15.0),
    ):
        img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
        out = ClassicalDigitizer(debug_dir=str(tmp_path)).digitize(img, rec.fs_hz, rec.n_samples, "r")
        assert out.meta["layout"] == cfg.layout
        assert out.meta["gain_mm_per_mv"] == cfg.gain_mm_per_mv
        assert out.meta["speed_mm_per_s"] == cfg.speed_mm_per_s
        assert abs(out.meta["px_per_mm"] / truth.px_per_mm - 1) < 0.002
        # NaN exactly where the truth is NaN (window starts may differ by one sample)
        assert (np.isfinite(out.signal_mv).sum(0) >= np.isfinite(truth.record.signal_mv).sum(0) - 2).all()
        assert snr_db(truth.record.signal_mv, out.signal_mv, rec.fs_hz) >= min_db
        segs = out.meta["segments"]
        assert {s["lead"] for s in segs} == set(LEADS)
        assert all(k in segs[0] for k in ("x0_px", "baseline_y_px", "px_per_s", "px_per_mv", "start_sample"))
    assert sorted(p.name for p in tmp_path.glob("r_*.png")) == [
        "r_1_rectified.png",
        "r_2_ink.png",
        "r_3_layout.png",
    ]


def _same_reading(a: EcgRecord, b: EcgRecord) -> bool:
    """Identical signals (NaN where the other has NaN) and meta, the stage timings aside."""
    meta_a = {k: v for k, v in a.meta.items() if k != "timings_s"}
    meta_b = {k: v for k, v in b.meta.items() if k != "timings_s"}
    return np.array_equal(a.signal_mv, b.signal_mv, equal_nan=True) and repr(meta_a) == repr(meta_b)


def test_one_instance_reads_pages_one_after_another_and_at_once_as_fresh_ones() -> None:
    """The digitizer keeps only its configuration: one instance reading two different pages, in turn or in two
    threads at once, reads each exactly as a fresh instance does."""
    from concurrent.futures import ThreadPoolExecutor

    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    pages = [
        render_ecg(rec, RenderConfig(dpi=150.0, pulse="start"), np.random.default_rng(0))[0],
        render_ecg(
            rec,
            RenderConfig(layout="6x2", dpi=150.0, pulse="end", grid_colour="green", gain_mm_per_mv=5.0),
            np.random.default_rng(1),
        )[0],
    ]
    fresh = [ClassicalDigitizer().digitize(page, rec.fs_hz, rec.n_samples) for page in pages]
    dig = ClassicalDigitizer()
    config = dict(vars(dig))
    in_turn = [dig.digitize(page, rec.fs_hz, rec.n_samples) for page in pages]
    with ThreadPoolExecutor(max_workers=2) as pool:
        at_once = list(pool.map(lambda page: dig.digitize(page, rec.fs_hz, rec.n_samples), pages))
    assert [f.meta["layout"] for f in fresh] == ["3x4+II", "6x2"]
    assert all(_same_reading(f, r) for f, r in zip(fresh, in_turn, strict=True))
    assert all(_same_reading(f, r) for f, r in zip(fresh, at_once, strict=True))
    assert vars(dig) == config  # nothing of the pages was kept on the object


@pytest.mark.parametrize(
    "cfg_kw",
    [
        {"pulse": "start"},  # 200 dpi, read in the input's own pixels
        {"layout": "6x2", "dpi": 300.0, "pulse": "end", "grid_colour": "green"},  # downscaled to 2200 px wide
    ],
)
def test_page_geometry_matches_the_renderers_truth(cfg_kw: dict) -> None:
    """``read_page``'s geometry against what the renderer drew: frame, scales, layout, rows' zero lines (the
    pulses' feet, to a pixel or so), pulses, and each lead's time window and first sample."""
    from ecgdl.render import RenderConfig, render_ecg

    rec = plain_record()
    cfg = RenderConfig(**cfg_kw)
    img, truth = render_ecg(rec, cfg, np.random.default_rng(0))
    out, geom = ClassicalDigitizer().read_page(img, rec.fs_hz, rec.n_samples)
    s = min(1.0, 2200 / max(img.shape[:2]))  # max_side_px
    assert geom.input_scale == pytest.approx(s) and not geom.rectified
    assert np.allclose(geom.homography, np.diag([s, s, 1.0]))
    assert geom.size_wh == (round(img.shape[1] * s), round(img.shape[0] * s))
    ppm = truth.px_per_mm * s
    assert geom.layout == truth.layout == cfg.layout
    assert geom.px_per_mm == pytest.approx(ppm, rel=1e-3)
    assert (geom.speed_mm_per_s, geom.gain_mm_per_mv) == (cfg.speed_mm_per_s, cfg.gain_mm_per_mv)
    assert geom.px_per_s == pytest.approx(truth.px_per_s * s, rel=1e-3)
    assert geom.px_per_mv == pytest.approx(truth.px_per_mv * s, rel=1e-3)
    zero = np.array(truth.row_baselines_y_px) * s
    assert len(geom.rows) == len(geom.zero_lines_y_px) == len(zero)
    assert np.abs(np.array(geom.zero_lines_y_px) - zero).max() < 2.0  # px (measured 0.0-1.5)
    # where the traces run: within a tenth of a mV of the zero lines on this page (measured 0.05-0.07)
    assert np.abs(np.array(geom.row_baselines_px) - zero).max() < 0.1 * geom.px_per_mv
    # one pulse per row, where it was drawn (boxes x0, y0 (top), x1, y1 (foot))
    assert sorted(geom.pulses) == list(range(len(zero))) and geom.n_pulses == len(zero)
    for r, box in enumerate(np.array(truth.pulse_boxes_xyxy) * s):
        (pulse,) = geom.pulses[r]
        assert pulse.side == cfg.pulse
        assert np.allclose([pulse.x_rise_px, pulse.top_y_px, pulse.x_fall_px], box[:3], atol=1.0)
    # every printed lead: its row, time window and where its box starts (the first sample, to a pixel)
    assert len(geom.segments) == len(truth.panels)
    for seg in geom.segments:
        (panel,) = [p for p in truth.panels if p.lead == seg.lead and p.row == seg.row]
        assert round(seg.t0_s * rec.fs_hz) == panel.start_sample
        assert round((seg.t0_s + seg.duration_s) * rec.fs_hz) == panel.end_sample
        assert abs(seg.x0_px - panel.points_xy[0, 0] * s) < 1.0  # px (measured up to 0.6)
    # the record's meta gives the same rows in the input's pixels
    assert np.allclose(out.meta["row_baselines_px"], np.array(geom.row_baselines_px) / s)
    assert out.meta["layout"] == geom.layout and out.meta["n_pulses"] == geom.n_pulses
