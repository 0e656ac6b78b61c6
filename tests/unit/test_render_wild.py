"""Page styles of render=wild: every new option keeps the truth exact and draws what it says."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ecgdl.constants import LEADS
from ecgdl.render import PAPER_SIZES_MM, RenderConfig, RenderSampler, RenderTruth, page_geometry, render_ecg
from ecgdl.render.grid import GRID_SCHEMES
from ecgdl.render.text import FONTS
from tests.unit.test_render import _assert_only_traces_changed, _assert_stroke_on_truth, _record

CONF = Path(__file__).resolve().parents[2] / "conf"
_BARE = {"labels": False, "header": False, "footer": False, "separators": False, "draw_traces": False}


@pytest.mark.parametrize(
    "options",
    [
        {"pulse": "both"},
        {"pulse": "both", "paper": "strip", "left_mm": 0.0, "right_mm": 0.0},
        {"left_mm": 0.0, "grid_style": "dotted"},
        {"grid_style": "none", "grid_colour": "black"},
        {"grid_colour": "dark", "font": "times", "header_lines": 6, "footer_lines": 3},
        {"layout": "12x1", "font": "serif-bold", "header_lines": 2, "paper": "strip"},
        {"layout": "3x4+II-cabrera", "pulse": "end", "separator_width_mm": 0.4},
        {"layout": "6x2-cabrera", "dpi": 76.2, "paper": "strip", "pulse": "start"},
        {"layout": "12x1-cabrera", "trace_rgb": (40, 40, 40), "line_width_mm": 0.5},
    ],
)
def test_new_options_keep_the_stroke_on_the_truth(options: dict) -> None:
    config = RenderConfig(**{"dpi": 100.0, **options})
    image, truth = render_ecg(_record(), config, np.random.default_rng(1))
    assert image.shape == (truth.height_px, truth.width_px, 3)
    _assert_stroke_on_truth(image, truth)
    if (
        truth.line_width_px < 2
    ):  # the helper's allowed band is sized for 1-px pens (wider pens fail it anyway)
        _assert_only_traces_changed(config, _record())


def test_a_thin_grey_trace_lies_on_the_truth() -> None:
    config = RenderConfig(
        dpi=76.2,
        trace_rgb=(120, 120, 120),
        line_width_mm=0.08,
        **{**_BARE, "draw_traces": True, "grid_colour": "none"},
    )
    image, truth = render_ecg(_record(), config, np.random.default_rng(0))
    assert truth.line_width_px == 1.0
    darkest = cv2.erode(image.max(axis=2), np.ones((3, 3), np.uint8))
    for panel in truth.panels:
        ys, xs = np.round(panel.cols_y).astype(int), panel.cols_x.astype(int)
        assert (darkest[ys, xs] < 200).all(), panel.lead
    assert image.min() >= 100  # grey, never black


def test_pulses_at_both_ends_and_the_lead_windows_shrink_to_fit() -> None:
    record = _record()
    kw = {"paper": "strip", "dpi": 100.0, "header": False}
    _, none = render_ecg(record, RenderConfig(**kw), np.random.default_rng(0))
    image, both = render_ecg(record, RenderConfig(pulse="both", **kw), np.random.default_rng(0))
    n_rows = len(both.row_baselines_y_px)
    assert len(both.pulse_boxes_xyxy) == 2 * n_rows
    starts, ends = both.pulse_boxes_xyxy[:n_rows], both.pulse_boxes_xyxy[n_rows:]
    step = both.px_per_s / both.fs_hz
    for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
        assert start[3] == end[3] == both.row_baselines_y_px[row]  # both on the row's zero line, 1 mV high
        assert start[3] - start[1] == pytest.approx(both.px_per_mv) == end[3] - end[1]
        panels = [p for p in both.panels if p.row == row]
        first = min(p.points_xy[0, 0] for p in panels)
        last = max(p.points_xy[-1, 0] for p in panels)
        assert start[2] == pytest.approx(first + 1.5 * step)  # the ECG-Image-Kit start pulse (as pulse=start)
        assert last < end[0] <= last + step + 1e-6  # the end pulse rises where the row's last window ends
        assert end[2] < both.width_px
    # 10 s and both pulses do not fit on a 260-mm strip with 15 mm of margins: every window is shorter
    for a, b in zip(none.panels, both.panels, strict=True):
        assert (a.lead, a.start_sample) == (b.lead, b.start_sample)
        assert b.end_sample < a.end_sample
        li = LEADS.index(b.lead)
        shown = np.flatnonzero(np.isfinite(both.record.signal_mv[:, li]))
        if b.lead != "II":  # lead II's rhythm strip covers every window's samples
            assert shown.min() == b.start_sample and shown.max() == b.end_sample - 1
    ink = image.min(axis=2) < 128
    for x0, y0, x1, _ in ends:  # the end pulse's top is inked
        assert ink[round(y0) - 1 : round(y0) + 2, round((x0 + x1) / 2)].any()


def test_leads_from_the_page_edge() -> None:
    config = RenderConfig(left_mm=0.0, right_mm=0.0, paper="strip", dpi=100.0)
    image, truth = render_ecg(_record(), config, np.random.default_rng(0))
    assert min(p.points_xy[0, 0] for p in truth.panels) == 0.0
    assert max(p.points_xy[-1, 0] for p in truth.panels) < truth.width_px
    rhythm = truth.panels[-1]
    assert rhythm.end_sample == 5000  # 10 s fit the strip when it has no margins
    _assert_stroke_on_truth(image, truth)


def test_a_dotted_grid_has_dots_at_the_crossings_and_no_lines() -> None:
    config = RenderConfig(grid_style="dotted", grid_colour="black", dpi=200.0, **_BARE)
    image, truth = render_ecg(_record(), config, np.random.default_rng(0))
    solid, _ = render_ecg(_record(), RenderConfig(grid_colour="black", dpi=200.0, **_BARE))
    inked = image.min(axis=2) < 235
    assert inked.mean(axis=1).max() < 0.5 and inked.mean(axis=0).max() < 0.5  # no row or column is a line
    assert (solid.min(axis=2) < 235).mean(axis=1).max() == 1.0  # the solid grid's are
    g = truth.grid
    assert g is not None and g.pattern == "dotted"
    for k in range(1, 8):  # a major crossing is a dark dot; half a mm beside it, on the line's path, paper
        x, y = round(g.origin_x_px + 5 * k * g.minor_px), round(g.origin_y_px + 5 * k * g.minor_px)
        assert image[y, x].max() < 100
        assert image[y, round(x + 0.5 * g.minor_px)].min() == 255
    none, truth_none = render_ecg(_record(), RenderConfig(grid_style="none", **_BARE))
    assert truth_none.grid is None and none.min() == 255


@pytest.mark.parametrize("colour", ["pale", "dark-red", "dark", "black"])
def test_new_grid_colours_range_from_pale_to_black(colour: str) -> None:
    paper, minor, major = GRID_SCHEMES[colour]
    assert paper == (255, 255, 255) and sum(minor) > sum(major)
    image, truth = render_ecg(
        _record(), RenderConfig(grid_colour=colour, dpi=100.0), np.random.default_rng(0)
    )
    _assert_stroke_on_truth(image, truth)
    assert truth.grid is not None and truth.grid.colour == colour


def test_cabrera_order_prints_inverted_avr_and_keeps_the_truth() -> None:
    record = _record()
    image, truth = render_ecg(
        record, RenderConfig(layout="3x4+II-cabrera", dpi=100.0), np.random.default_rng(0)
    )
    first_row = sorted((p for p in truth.panels if p.row == 0), key=lambda p: p.col)
    assert [p.lead for p in first_row] == ["aVL", "II", "V1", "V4"]
    assert [p.lead for p in sorted(truth.panels, key=lambda p: (p.col, p.row)) if p.col == 0][:3] == [
        "aVL",
        "I",
        "aVR",
    ]
    for p in truth.panels:
        values = record.signal_mv[p.start_sample : p.end_sample, LEADS.index(p.lead)]
        assert p.polarity == (-1.0 if p.lead == "aVR" else 1.0)
        np.testing.assert_allclose(p.points_xy[:, 1], p.baseline_y_px - p.polarity * values * truth.px_per_mv)
    # the record keeps aVR itself, not -aVR, in mV
    avr = LEADS.index("aVR")
    shown = np.isfinite(truth.record.signal_mv[:, avr])
    np.testing.assert_array_equal(truth.record.signal_mv[shown, avr], record.signal_mv[shown, avr])
    _assert_stroke_on_truth(image, truth)


def test_new_options_round_trip_through_the_truth_file(tmp_path) -> None:
    config = RenderConfig(layout="6x2-cabrera", grid_style="dotted", pulse="both", dpi=100.0)
    _, truth = render_ecg(_record(), config, np.random.default_rng(0))
    back = RenderTruth.load(truth.save(tmp_path / "p.truth.npz"))
    assert [p.polarity for p in back.panels] == [p.polarity for p in truth.panels]
    assert back.grid == truth.grid and back.pulse_boxes_xyxy == truth.pulse_boxes_xyxy
    assert back.meta["style"]["grid_style"] == "dotted"


def test_fonts_header_and_footer_blocks_stay_clear_of_the_rows() -> None:
    for font in FONTS:
        RenderConfig(font=font)
    config = RenderConfig(
        layout="3x4", rows_top_mm=10.0, header_lines=8, footer_lines=4, font="times", dpi=100.0
    )
    geom = page_geometry(config, 10.0)
    _, truth = render_ecg(_record(), config, np.random.default_rng(0))
    text_only, _ = render_ecg(
        _record(), RenderConfig(**{**config.__dict__, "draw_traces": False, "grid_colour": "none"})
    )
    ink_rows = np.flatnonzero((text_only.min(axis=2) < 128).any(axis=1))
    top_band = geom.header_bottom_px
    header_ink = ink_rows[ink_rows < top_band]
    footer_ink = ink_rows[ink_rows > truth.row_baselines_y_px[-1] + geom.strips[-1].half_pitch_px]
    assert header_ink.size and footer_ink.size
    assert top_band > 8 * 1.35 * config.font_px  # the rows moved below an 8-line block


def test_bad_new_options_fail_with_the_valid_names() -> None:
    with pytest.raises(KeyError, match="valid: start, end, both, none"):
        RenderConfig(pulse="middle")
    with pytest.raises(KeyError, match="valid: solid, dotted, none"):
        RenderConfig(grid_style="dashed")
    with pytest.raises(KeyError, match="valid: sans"):
        RenderConfig(font="comic")
    with pytest.raises(KeyError, match="strip"):
        RenderConfig(paper="legal")
    with pytest.raises(ValueError, match="header_lines"):
        RenderConfig(header_lines=0)
    with pytest.raises(ValueError, match="left_mm"):
        RenderConfig(left_mm=-1.0)
    with pytest.raises(ValueError, match="trace_rgb"):
        RenderConfig(trace_rgb=(0, 0, 300))
    with pytest.raises(ValueError, match="left_mm must be a"):
        RenderSampler(left_mm=[[0.0, 2.0], [5.0]])
    with pytest.raises(ValueError, match="needs an alternative"):
        RenderSampler(alternative_share=0.3)
    with pytest.raises(KeyError, match="valid: solid"):
        RenderSampler(grid_styles=["solid", "hatched"])


def _wild_sampler() -> RenderSampler:
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        cfg = compose("evaluate", overrides=["data=synth", "render=wild"])
    return instantiate(cfg.render)


def test_the_wild_preset_draws_every_style_and_kaggle_pages() -> None:
    sampler = _wild_sampler()
    rng = np.random.default_rng(0)
    configs = [sampler.sample(rng) for _ in range(300)]
    for c in configs:
        page_geometry(c, 10.0)  # every drawn page fits its paper
    kaggle = [c for c in configs if c.layout == "3x4+II" and c.dpi == 200.0 and c.separator_width_mm == 0.76]
    assert 0.2 < len(kaggle) / len(configs) < 0.5
    seen = lambda name: {getattr(c, name) for c in configs}  # noqa: E731
    assert seen("pulse") == {"none", "start", "end", "both"}
    assert seen("paper") == set(PAPER_SIZES_MM)
    assert seen("grid_style") == {"solid", "dotted", "none"}
    assert {"dark", "black", "dark-red", "pale"} <= seen("grid_colour")
    assert {"3x4+II-cabrera", "6x2-cabrera", "12x1", "6x2", "3x4"} <= seen("layout")
    assert {"serif", "times", "sans"} <= seen("font")
    assert min(seen("dpi")) < 60 and max(seen("dpi")) == 600
    assert seen("separators") == {True, False} and min(seen("left_mm")) < 2.0
    assert len(seen("trace_rgb")) > 3 and len(seen("header_lines")) > 3


def test_wild_pages_render_with_exact_truth() -> None:
    sampler = _wild_sampler()
    rng = np.random.default_rng(3)
    for _ in range(6):
        config = sampler.sample(rng)
        config = RenderConfig(**{**config.__dict__, "dpi": min(config.dpi, 150.0)})  # fast
        image, truth = render_ecg(_record(), config, rng)
        assert image.shape[:2] == (truth.height_px, truth.width_px)
        for p in truth.panels:
            values = truth.record.signal_mv[p.start_sample : p.end_sample, LEADS.index(p.lead)]
            np.testing.assert_allclose(
                p.points_xy[:, 1], p.baseline_y_px - p.polarity * values * truth.px_per_mv
            )


@pytest.mark.parametrize("pulse", ["start", "end"])
def test_a_narrower_pulse_keeps_the_leads_where_they_were(pulse: str) -> None:
    record = _record()
    kw = {"dpi": 100.0, "pulse": pulse, "header": False, "grid_style": "none"}
    _, standard = render_ecg(record, RenderConfig(**kw), np.random.default_rng(0))
    image, narrow = render_ecg(record, RenderConfig(pulse_width_s=0.08, **kw), np.random.default_rng(0))
    for a, b in zip(standard.panels, narrow.panels, strict=True):
        np.testing.assert_array_equal(a.points_xy, b.points_xy)
    for (x0, y0, x1, y1), (u0, v0, u1, v1) in zip(
        standard.pulse_boxes_xyxy, narrow.pulse_boxes_xyxy, strict=True
    ):
        assert (u0, v0, v1) == (x0, y0, y1)  # rises where it did, 1 mV high
        assert x1 - x0 == pytest.approx(0.2 * standard.px_per_s)
        assert u1 - u0 == pytest.approx(0.08 * narrow.px_per_s)
    ink = image.min(axis=2) < 128
    for u0, v0, u1, _ in narrow.pulse_boxes_xyxy:  # its top is inked over 0.08 s and not beyond
        assert ink[round(v0) - 1 : round(v0) + 2, round((u0 + u1) / 2)].any()
        assert not ink[round(v0) - 1 : round(v0) + 2, round(u1 + 0.05 * narrow.px_per_s)].any()
    with pytest.raises(ValueError, match="pulse_width_s"):
        RenderConfig(pulse_width_s=0.3)


def test_the_wild_preset_draws_narrower_pulses() -> None:
    import yaml

    options = yaml.safe_load((CONF / "render" / "wild.yaml").read_text())
    sampler = RenderSampler(**{k: options[k] for k in ("pulses", "pulse_widths_s")})
    widths = {sampler.sample(np.random.default_rng(i)).pulse_width_s for i in range(60)}
    assert widths == set(options["pulse_widths_s"]) and min(widths) < 0.1
