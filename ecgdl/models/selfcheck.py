"""Self-checked reading: what a page leaves open is decided by reading the candidates and keeping the most
consistent reading.

A page may lie turned by 90, 180 or 270 degrees (a scan fed sideways, a photo taken upside down). Read as it
lies, such a page gives a full 12-lead record that breaks the limb-lead identities; its confidence
(:class:`~ecgdl.metrics.confidence.ConfidenceModel`) is low. :class:`SelfCheckedDigitizer` wraps any
:class:`~ecgdl.digitizer.Digitizer`: it reads the page as it lies and, only when that reading's confidence is
under the threshold, reads it again turned by each of ``turns``, then (as it lies) with a ``fallback`` reader,
until one reading passes it, and keeps that one (a page read well costs one reading; when none passes, the
reader's reading of the page as it lies). With an ``orientation`` classifier
(:class:`~ecgdl.models.orientation.OrientationClassifier`) a page it is sure lies turned is read turned first,
and that reading needs only the plain threshold. The record's meta gets ``confidence``, ``turned_deg`` (counter-clockwise turn
applied to the input before the kept reading; its ``segments`` are in that turned image's pixels) and
``readings_tried``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecgdl.digitizer import DigitizationError, Digitizer
from ecgdl.metrics.confidence import ConfidenceModel
from ecgdl.models.orientation import OrientationClassifier
from ecgdl.signals.record import EcgRecord

__all__ = ["SelfCheckedDigitizer", "turn_image"]


def turn_image(image_rgb: np.ndarray, turn_deg: int) -> np.ndarray:
    """``image_rgb`` turned counter-clockwise by ``turn_deg`` (a multiple of 90)."""
    if turn_deg % 90:
        raise ValueError(f"turns are multiples of 90 degrees, got {turn_deg}")
    k = (turn_deg // 90) % 4
    return image_rgb if k == 0 else np.ascontiguousarray(np.rot90(image_rgb, k))


class SelfCheckedDigitizer:
    """``reader`` with its readings' confidence, and turned pages read the right way up (module docstring).

    Args:
        reader: any digitizer.
        confidence: the confidence model of its readings.
        turns: counter-clockwise turns (degrees) tried, in this order, when a reading is under the threshold;
            empty: never turned.
        fallback: another digitizer (e.g. :func:`~ecgdl.models.ink.with_learned_ink` of ``reader``) that reads
            the page as it lies when no turn gave a confident reading (meta ``reader: fallback``).
        turn_min_confidence: the confidence a turned reading needs (above the model's threshold): most pages
            lie the right way up, and a turned copy of an upright page is read as nonsense whose limb leads
            can look consistent by chance (with the plain threshold two of 52 real pages were turned at 0.55
            and 0.79, and one of 12 generated screen photos at 0.87). The price: readings of generated pages
            that really lay turned reach 0.54-1.0, and 7 of 24 of them stay under 0.9.
        orientation: a classifier of how the page lies; the turn it is sure of
            (:meth:`~ecgdl.models.orientation.OrientationClassifier.likely_turn_deg`) is read first and kept at the
            plain threshold, and the other turns (upright included) then need ``turn_min_confidence``.
    """

    def __init__(
        self,
        reader: Digitizer,
        confidence: ConfidenceModel,
        turns: Sequence[int] = (180, 90, 270),
        fallback: Digitizer | None = None,
        turn_min_confidence: float = 0.9,
        orientation: OrientationClassifier | None = None,
    ):
        for t in turns:
            if t % 90 or not t % 360 > 0:
                raise ValueError(f"turns must be 90, 180 or 270 degrees, got {list(turns)}")
        self.reader = reader
        self.confidence = confidence
        self.turns = tuple(int(t) % 360 for t in turns)
        self.fallback = fallback
        if not 0.0 < turn_min_confidence < 1.0:
            raise ValueError(f"turn_min_confidence must lie in (0, 1), got {turn_min_confidence}")
        self.turn_min_confidence = float(turn_min_confidence)
        self.orientation = orientation

    def __getattr__(self, name: str):
        # everything else (eval(), load_weights, needs_truth, ...) is the reader's
        return getattr(self.reader, name)

    def _passes(self, confidence: float, turn: int, expected_turn: int = 0) -> bool:
        if turn != expected_turn:
            return confidence >= max(self.turn_min_confidence, self.confidence.threshold)
        return not self.confidence.is_low(confidence)

    def digitize(self, image_rgb: np.ndarray, fs_hz: float, n_samples: int, **kwargs) -> EcgRecord:
        readings: list[tuple[float, int, str, EcgRecord]] = []
        tried: list[dict] = []
        errors: list[str] = []
        # the turn the orientation classifier is sure of (else 0) is read first and needs only the threshold
        expected = self.orientation.likely_turn_deg(image_rgb) if self.orientation is not None else 0
        order = [expected, *(t for t in (0, *self.turns) if t != expected)]
        plan = [(self.reader, "reader", t) for t in order]
        if self.fallback is not None:
            plan.append((self.fallback, "fallback", expected))
        for reader, name, turn in plan:
            label = f"{name} turned {turn}" if turn or name != "reader" else ""
            try:
                rec = reader.digitize(turn_image(image_rgb, turn), fs_hz, n_samples, **kwargs)
            except DigitizationError as exc:
                errors.append(f"{label}: {exc}" if label else str(exc))
                tried.append({"reader": name, "turned_deg": turn, "error": str(exc)})
                continue
            conf = self.confidence.of(rec.signal_mv, fs_hz, rec.meta)
            tried.append({"reader": name, "turned_deg": turn, "confidence": round(conf, 4)})
            readings.append((conf, turn, name, rec))
            if self._passes(conf, turn, expected):
                break
        if not readings:
            raise DigitizationError("; ".join(errors))
        # a turned or fallback reading is kept only when it passes the threshold: among readings that all fail
        # it, the reader's own of the page as it lies (confidences under the threshold are too close to rank)
        confident = [r for r in readings if self._passes(r[0], r[1], expected)]
        first = [r for r in readings if r[1] == expected and r[2] == "reader"]
        conf, turn, name, rec = (confident or first or sorted(readings, key=lambda r: -r[0]))[0]
        meta = {
            **(rec.meta or {}),
            "confidence": conf,
            "turned_deg": turn,
            "reader": name,
            "readings_tried": tried,
            "orientation_turn_deg": expected if self.orientation is not None else None,
        }
        return EcgRecord(rec.signal_mv, rec.fs_hz, rec.record_id, meta)
