"""Paper-ECG layouts: which lead is printed in which row and column, and which rhythm strips run below.

A paper convention shared by the renderer (:mod:`ecgdl.render`, which draws pages) and the readers
(:mod:`ecgdl.classical`, which reads them), like :mod:`ecgdl.constants`, the only module it needs.

A layout is data, not code: ``LAYOUTS[name]`` gives a :class:`LayoutSpec`. Column ``c`` of an ``n``-column grid
shows seconds ``[c * D / n, c * D / n + window)`` of one recording of duration ``D`` (the Kaggle convention);
rhythm strips show the recording from 0 s. When the paper is too narrow (50 mm/s), the window shrinks to fit.

Cabrera layouts (``3x4+II-cabrera``, ``6x2-cabrera``, ``12x1-cabrera``) print the limb leads in their anatomical
order aVL, I, -aVR, II, aVF, III: the spec lists aVR (the record's lead) and names it in ``inverted``, the leads
printed upside down (labelled ``-aVR``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecgdl.constants import LEADS

__all__ = ["CABRERA_TWINS", "LAYOUTS", "LayoutSpec", "get_layout"]


@dataclass(frozen=True)
class LayoutSpec:
    """One layout: ``grid`` (rows x columns of lead names) and the full-width ``rhythm`` strips below it."""

    name: str
    grid: tuple[tuple[str, ...], ...]  # rows x columns of lead names
    rhythm: tuple[str, ...] = ()  # full-width strips below the grid
    inverted: tuple[str, ...] = ()  # leads printed with reversed polarity (Cabrera's -aVR)

    @property
    def n_cols(self) -> int:
        return len(self.grid[0]) if self.grid else 1

    @property
    def n_rows(self) -> int:
        return len(self.grid) + len(self.rhythm)

    def __post_init__(self) -> None:
        for row in self.grid:
            if len(row) != self.n_cols:
                raise ValueError(f"layout {self.name}: ragged grid")
        printed = {lead for row in self.grid for lead in row} | set(self.rhythm)
        unknown = printed - set(LEADS)
        if unknown:
            raise ValueError(f"layout {self.name}: unknown leads {sorted(unknown)}")
        if not set(self.inverted) <= printed:
            raise ValueError(
                f"layout {self.name}: inverted leads {sorted(set(self.inverted) - printed)} not printed"
            )

    def polarity(self, lead: str) -> float:
        """-1.0 for a lead printed upside down (``inverted``), else 1.0."""
        return -1.0 if lead in self.inverted else 1.0

    def label(self, lead: str) -> str:
        """The lead's printed name (``-aVR`` for an inverted aVR)."""
        return f"-{lead}" if lead in self.inverted else lead


LAYOUTS: dict[str, LayoutSpec] = {
    spec.name: spec
    for spec in (
        LayoutSpec(
            "3x4+II",
            (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
            ("II",),
        ),
        # the same page with another rhythm lead (machines let the user choose; V1 and V5 are the usual others)
        *(
            LayoutSpec(
                f"3x4+{lead}",
                (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
                (lead,),
            )
            for lead in ("V1", "V5")
        ),
        LayoutSpec(
            "3x4+3",
            (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
            ("II", "V1", "V5"),
        ),
        LayoutSpec(
            "3x4",
            (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")),
        ),
        LayoutSpec(
            "6x2",
            (("I", "V1"), ("II", "V2"), ("III", "V3"), ("aVR", "V4"), ("aVL", "V5"), ("aVF", "V6")),
        ),
        LayoutSpec("12x1", tuple((lead,) for lead in LEADS)),
        # Cabrera order: limb leads aVL, I, -aVR, II, aVF, III (columns of the 3x4 grid read top to bottom)
        LayoutSpec(
            "3x4+II-cabrera",
            (("aVL", "II", "V1", "V4"), ("I", "aVF", "V2", "V5"), ("aVR", "III", "V3", "V6")),
            ("II",),
            inverted=("aVR",),
        ),
        LayoutSpec(
            "6x2-cabrera",
            (("aVL", "V1"), ("I", "V2"), ("aVR", "V3"), ("II", "V4"), ("aVF", "V5"), ("III", "V6")),
            inverted=("aVR",),
        ),
        LayoutSpec(
            "12x1-cabrera",
            tuple((lead,) for lead in ("aVL", "I", "aVR", "II", "aVF", "III", *LEADS[6:])),
            inverted=("aVR",),
        ),
    )
}

#: standard layout -> the layout printing the same grid with the limb leads in Cabrera order
CABRERA_TWINS: dict[str, str] = {"3x4+II": "3x4+II-cabrera", "6x2": "6x2-cabrera", "12x1": "12x1-cabrera"}


def get_layout(name: str) -> LayoutSpec:
    """The layout called ``name``; an unknown name raises KeyError listing the valid ones."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; valid layouts: {', '.join(LAYOUTS)}") from None
