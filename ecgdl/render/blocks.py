"""Header and footer text blocks of varied size, as ECG machines print them above and below the traces.

A header block holds ``n_lines`` lines in one to three columns (patient fields, interval measurements, an
interpretation); a footer block ``n_lines`` lines (recording settings, device, page). Their values are drawn from
the page's ``np.random.Generator`` (the record's own ``meta`` where it has them), so a seed gives the same text.
"""

from __future__ import annotations

import numpy as np

from ecgdl.render.text import draw_text
from ecgdl.signals.record import EcgRecord

#: line pitch of text blocks, in font heights
LINE_PITCH = 1.35
#: most lines a header or footer block may hold
MAX_BLOCK_LINES = 12

_STATEMENTS = (
    "Sinus rhythm",
    "Normal ECG",
    "Sinus bradycardia",
    "Sinus tachycardia",
    "Left axis deviation",
    "Nonspecific T wave abnormality",
    "Borderline ECG",
    "Incomplete right bundle branch block",
    "Possible left ventricular hypertrophy",
    "Atrial fibrillation",
    "Abnormal ECG",
    "Unconfirmed report",
)
_DEVICES = ("ECG-12 v2.1", "CardioRec 300", "Electrocardiograph 1200", "EKG Station 5", "PC-ECG 3.4")


def block_height_mm(n_lines: int, font_px: int, px_per_mm: float) -> float:
    """The page height (mm) a block of ``n_lines`` takes, margins included."""
    return 2.0 + (n_lines * LINE_PITCH + 0.5) * font_px / px_per_mm


def _patient_fields(record: EcgRecord, rng: np.random.Generator) -> list[str]:
    meta = record.meta or {}
    age = meta.get("age", int(rng.integers(18, 95)))
    sex = meta.get("sex", str(rng.choice(["Male", "Female"])))
    day = f"{int(rng.integers(1, 29)):02d}.{int(rng.integers(1, 13)):02d}.{int(rng.integers(1995, 2026))}"
    clock = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}"
    return [
        f"ID: {record.record_id or int(rng.integers(10000, 99999))}",
        f"Age: {age} yrs",
        f"Sex: {sex}",
        f"Date: {day} {clock}",
        f"Height: {int(rng.integers(150, 200))} cm",
        f"Weight: {int(rng.integers(45, 120))} kg",
        f"Room: {int(rng.integers(1, 400))}",
        f"Referred by: Dr. {rng.choice(['Meyer', 'Rossi', 'Novak', 'Kim', 'Silva', 'Haddad'])!s}",
    ]


def _measurements(record: EcgRecord, rng: np.random.Generator) -> list[str]:
    hr = (record.meta or {}).get("hr_bpm")
    rate = round(float(hr)) if hr is not None else int(rng.integers(45, 130))
    qt = int(rng.integers(320, 460))
    return [
        f"Vent. rate: {rate} BPM",
        f"PR interval: {int(rng.integers(120, 220))} ms",
        f"QRS duration: {int(rng.integers(70, 130))} ms",
        f"QT/QTc: {qt}/{qt + int(rng.integers(0, 60))} ms",
        f"P-R-T axes: {int(rng.integers(-30, 90))} {int(rng.integers(-60, 110))} {int(rng.integers(-30, 90))}",
        f"RR interval: {round(60000 / max(rate, 1))} ms",
    ]


def header_columns(record: EcgRecord, n_lines: int, rng: np.random.Generator) -> list[list[str]]:
    """One to three columns of at most ``n_lines`` lines each: patient fields, measurements, statements."""
    n_cols = int(rng.integers(1, 4))
    columns = [_patient_fields(record, rng)[:n_lines]]
    if n_cols >= 2:
        columns.append(_measurements(record, rng)[:n_lines])
    if n_cols >= 3:
        k = int(rng.integers(1, n_lines + 1))
        columns.append(
            [str(s) for s in rng.choice(_STATEMENTS, size=min(k, len(_STATEMENTS)), replace=False)]
        )
    return columns


def footer_lines(
    speed_mm_per_s: float, gain_mm_per_mv: float, n_lines: int, rng: np.random.Generator
) -> list[str]:
    """``n_lines`` footer lines, the first with the paper speed and gain."""
    low, high = rng.choice(["0.05", "0.15", "0.5"]), rng.choice(["40", "100", "150"])
    mains = rng.choice(["50 Hz", "60 Hz"])
    pool = [
        f"Speed: {speed_mm_per_s:g} mm/s   Limb: {gain_mm_per_mv:g} mm/mV   Chest: {gain_mm_per_mv:g} mm/mV",
        f"F {low}-{high} Hz  W ~{mains}",
        f"Device: {rng.choice(_DEVICES)}",
        f"Page 1 of 1    Printed {int(rng.integers(1, 29)):02d}/{int(rng.integers(1, 13)):02d}",
        "Unconfirmed. Physician review required.",
    ]
    return [pool[i % len(pool)] for i in range(n_lines)]


def draw_header_block(
    image: np.ndarray, columns: list[list[str]], font_px: int, px_per_mm: float, font: str
) -> None:
    """Columns at 2 mm, 35 % and 62 % of the page width, from 2 mm below the top."""
    width_px = image.shape[1]
    for c, lines in enumerate(columns):
        x = 2.0 * px_per_mm if c == 0 else (0.35 if c == 1 else 0.62) * width_px
        for i, line in enumerate(lines):
            draw_text(image, line, x, 2.0 * px_per_mm + i * LINE_PITCH * font_px, font_px, font=font)


def draw_footer_block(image: np.ndarray, lines: list[str], font_px: int, px_per_mm: float, font: str) -> None:
    """Lines from the page's bottom up, the last one 0.5 font heights above the edge."""
    height_px = image.shape[0]
    for i, line in enumerate(reversed(lines)):
        y = height_px - (1.5 + i * LINE_PITCH) * font_px
        draw_text(image, line, 2.0 * px_per_mm, y, font_px, font=font)
