"""Page orientation: how many quarter turns a page needs to lie upright, from a small learned classifier.

A page may lie turned by 90, 180 or 270 degrees (a scan fed sideways, a photo taken upside down).
:class:`OrientationClassifier` answers before any reading: ``probabilities(image_rgb)`` gives four probabilities
for the page needing a counter-clockwise turn of 0, 90, 180 or 270 degrees to be upright, in the convention of
:func:`ecgdl.models.selfcheck.turn_image` (``turn_image(image, classifier.predict_turn_deg(image))`` lies upright).

The network (:class:`OrientationNet`, about 0.2 M parameters) sees the page in grey, scaled so that its long
side is ``size_px`` (256) and letterboxed to a square (:func:`letterbox_gray`), as two channels
(:func:`page_channels`): the grey page and a local-contrast map (the page minus its blur, which keeps traces,
text and grid lines and drops shading). The square keeps the page's shape, so a turned page's square is the
upright page's square turned: the training labels are exact. The shipped ``ecgdl/assets/orientation.pt`` was
trained by ``python scripts/train_orientation.py`` on generated pages of every style under every degradation
preset (never on the development sets).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

__all__ = [
    "DEFAULT_WEIGHTS",
    "TURNS_DEG",
    "OrientationClassifier",
    "OrientationNet",
    "letterbox_gray",
    "page_channels",
]

#: the classes: counter-clockwise turn (degrees) that makes the page upright
TURNS_DEG: tuple[int, ...] = (0, 90, 180, 270)

#: the shipped weights (scripts/train_orientation.py writes them)
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "orientation.pt"


def _check_rgb(image_rgb: np.ndarray) -> np.ndarray:
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected an H x W x 3 RGB image, got shape {image.shape}; convert grey or RGBA pictures to RGB "
            "first (e.g. cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))"
        )
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB image (0-255), got dtype {image.dtype}")
    if min(image.shape[:2]) < 8:
        raise ValueError(f"image too small to classify: {image.shape[1]} x {image.shape[0]} px")
    return image


def letterbox_gray(image_rgb: np.ndarray, size_px: int = 256) -> np.ndarray:
    """The page in grey (``size_px`` x ``size_px`` uint8): scaled so its long side is ``size_px`` and centred,
    the rest filled with the page's mean grey. Turning the page turns this square the same way."""
    image = _check_rgb(image_rgb)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    scale = size_px / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    small = cv2.resize(gray, (new_w, new_h), interpolation=interp)
    out = np.full((size_px, size_px), round(float(small.mean())), np.uint8)
    top, left = (size_px - new_h) // 2, (size_px - new_w) // 2
    out[top : top + new_h, left : left + new_w] = small
    return out


def page_channels(square_gray: np.ndarray, contrast_sigma_px: float = 2.0) -> np.ndarray:
    """The network's input (2 x S x S float32) from a letterboxed grey page: the grey page and its local
    contrast (page minus its Gaussian blur), each standardised over the page."""
    gray = square_gray.astype(np.float32) / 255.0
    local = gray - cv2.GaussianBlur(gray, (0, 0), contrast_sigma_px)
    gray = (gray - gray.mean()) / (gray.std() + 1e-3)
    local = local / (local.std() + 1e-3)
    return np.stack([gray, local]).astype(np.float32)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class OrientationNet(nn.Module):
    """A small CNN: five stride-2 stages (``widths``) down to S/32, then a 4 x 4 average grid (where things lie
    on the page: header on top, rhythm strip below) flattened into a linear layer of four logits."""

    def __init__(
        self, widths: tuple[int, ...] = (8, 16, 32, 64, 96), in_channels: int = 2, dropout: float = 0.3
    ):
        super().__init__()
        layers: list[nn.Module] = [_conv(in_channels, widths[0], 2)]
        for c_in, c_out in itertools.pairwise(widths):
            layers.append(_conv(c_in, c_out, 2))
            if c_out >= 48:  # a second convolution where the maps are small
                layers.append(_conv(c_out, c_out))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(widths[-1] * 16, len(TURNS_DEG))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


class OrientationClassifier:
    """How a page lies (module docstring).

    Args:
        weights: a file written by ``scripts/train_orientation.py`` (``state_dict`` and ``settings``) or the name
            of shipped weights in ``ecgdl/assets``; default the shipped ``ecgdl/assets/orientation.pt``. Loaded with ``weights_only=True``.
    """

    def __init__(self, weights: str | Path | None = None) -> None:
        path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        if (
            weights is not None
            and not path.is_file()
            and (DEFAULT_WEIGHTS.parent / f"{weights}.pt").is_file()
        ):
            path = DEFAULT_WEIGHTS.parent / f"{weights}.pt"  # a name of shipped weights, e.g. "orientation"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no orientation weights; train them with scripts/train_orientation.py"
            )
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if "state_dict" not in ckpt or "settings" not in ckpt:
            raise ValueError(f"{path}: not an orientation checkpoint (needs 'state_dict' and 'settings')")
        settings = dict(ckpt["settings"])
        self.size_px = int(settings["size_px"])
        self.contrast_sigma_px = float(settings["contrast_sigma_px"])
        self.net = OrientationNet(widths=tuple(int(w) for w in settings["widths"]))
        self.net.load_state_dict(ckpt["state_dict"])
        self.net.eval()
        self.settings = settings
        self.weights = str(path)

    def inputs(self, image_rgb: np.ndarray) -> torch.Tensor:
        """The network's input for one page (1 x 2 x S x S)."""
        square = letterbox_gray(image_rgb, self.size_px)
        return torch.from_numpy(page_channels(square, self.contrast_sigma_px))[None]

    def probabilities(self, image_rgb: np.ndarray) -> np.ndarray:
        """Four probabilities (float64, summing to 1) that the page needs a counter-clockwise turn of 0, 90, 180
        or 270 degrees (:data:`TURNS_DEG`) to lie upright."""
        with torch.inference_mode():
            logits = self.net(self.inputs(image_rgb))[0].double()
        prob = torch.softmax(logits, 0).numpy()
        return prob / prob.sum()

    def predict_turn_deg(self, image_rgb: np.ndarray) -> int:
        """The most probable counter-clockwise turn (degrees) that makes the page upright."""
        return TURNS_DEG[int(np.argmax(self.probabilities(image_rgb)))]

    def likely_turn_deg(
        self, image_rgb: np.ndarray, sideways_min_prob: float = 0.5, upside_down_min_prob: float = 0.9
    ) -> int:
        """The turn the page needs when the classifier is sure enough, else 0 (read it as it lies).

        Sideways (90 or 270) when their probabilities add up to ``sideways_min_prob``: on held-out generated
        pages and on real pictures the classifier never put a page on the wrong axis. Upside down only from
        ``upside_down_min_prob``: no upright generated page reached 0.9 for 180 degrees while 89 % of upside-down
        ones did, and real pictures that are tight crops of the traces were called upside down at up to 0.83.
        """
        prob = self.probabilities(image_rgb)
        if prob[1] + prob[3] >= sideways_min_prob:
            return 90 if prob[1] >= prob[3] else 270
        return 180 if prob[2] >= upside_down_min_prob else 0
