"""Robustness probes: the learner's drawing shifted, rotated, scaled and thickened, and P(1) across each range."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from model.data import MNIST_SIDE, resize_to_input
from model.forward import NetworkWeights, predict_proba
from model.preprocess import INK_THRESHOLD, rank_filter

# (lowest, highest, step, neutral) of each probe, in the 28×28 frame the digit is centred in:
# pixels of shift, degrees (anticlockwise), a size factor, pixels of stroke width added.
PROBE_RANGES = {
    "shift_x": (-8.0, 8.0, 0.5, 0.0),
    "shift_y": (-8.0, 8.0, 0.5, 0.0),
    "rotation": (-90.0, 90.0, 5.0, 0.0),
    "scale": (0.4, 1.6, 0.05, 1.0),
    "thickness": (-2.0, 4.0, 0.25, 0.0),
}
PROBE_LABELS = {
    "shift_x": "Shift right (px)",
    "shift_y": "Shift down (px)",
    "rotation": "Rotate anticlockwise (°)",
    "scale": "Scale (×)",
    "thickness": "Thicken the strokes (px)",
}
# Points of each sweep: enough to see where the answer flips (interpolated between them),
# few enough that all five sweeps are one small batch.
SWEEP_POINTS = 25
# Ink is "pushed out of the frame" when this share of it (or more) is lost off the edges.
LOST_INK_SHARE = 0.05
# Odd filter sizes: one step of thickening adds 2 px of width (1 px on each side).
THICKENING_STEP_PX = 2.0

OUT_OF_FRAME = (
    "Part of the drawing is pushed out of the 28×28 frame: the network sees what is left."
)
NOTHING_LEFT = "Nothing of the drawing is left in the frame: the network sees an empty picture."


@dataclass(frozen=True)
class Variation:
    """How to change a drawing; the defaults leave it as it is."""

    shift_x: float = 0.0
    shift_y: float = 0.0
    rotation: float = 0.0
    scale: float = 1.0
    thickness: float = 0.0

    def __post_init__(self) -> None:
        for name, (low, high, _, _) in PROBE_RANGES.items():
            value = getattr(self, name)
            if not np.isfinite(value) or not low <= value <= high:
                raise ValueError(f"{PROBE_LABELS[name]} must be between {low:g} and {high:g}")

    @property
    def moves(self) -> bool:
        """Whether it shifts, turns or resizes the drawing (anything but thickening)."""
        return bool(self.shift_x or self.shift_y or self.rotation or self.scale != 1.0)

    @property
    def is_identity(self) -> bool:
        return all(getattr(self, name) == PROBE_RANGES[name][3] for name in PROBE_RANGES)


def probe_values(name: str, current: float | None = None) -> np.ndarray:
    """SWEEP_POINTS evenly across the probe's range, plus `current` (where its slider is)."""
    low, high, _, _ = PROBE_RANGES[name]
    values = np.linspace(low, high, SWEEP_POINTS)
    if current is not None:
        values = np.union1d(values, [current])
    return np.round(values, 6)


def _thickened(image: np.ndarray, pixels: float) -> np.ndarray:
    """Strokes `pixels` wider (narrower if negative), between whole filter sizes by blending."""
    steps = abs(pixels) / THICKENING_STEP_PX
    whole = int(steps)
    pick = np.maximum if pixels > 0 else np.minimum
    lower = rank_filter(image, 2 * whole + 1, pick) if whole else image
    if steps == whole:
        return lower
    upper = rank_filter(image, 2 * whole + 3, pick)
    share = steps - whole
    return (1.0 - share) * lower + share * upper


def _resize_matrix() -> np.ndarray:
    """The 28→20 resize as a (20×28) matrix R, so a batch of frames F resizes as R·F·Rᵀ.

    Area averaging is linear and separable: row j of the frame lit alone lands on column j.
    """
    columns = []
    for row in range(MNIST_SIDE):
        lit = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
        lit[row] = 1.0
        columns.append(resize_to_input(lit)[:, 0])
    return np.stack(columns, axis=1).astype(np.float32)


RESIZE_MATRIX = _resize_matrix()


def _affine(frames: np.ndarray, variations: list[Variation]) -> np.ndarray:
    """Scale, rotate and shift each square frame about its centre; bilinear, black outside."""
    count, side = len(frames), frames.shape[-1]
    angles = np.radians([variation.rotation for variation in variations])
    scales = np.array([variation.scale for variation in variations])
    shifts = np.array([[variation.shift_x, variation.shift_y] for variation in variations])
    cos, sin = np.cos(angles) / scales, np.sin(angles) / scales
    # Each output pixel's centre, mapped back to where it comes from in the input: the
    # inverse of "scale, then turn anticlockwise (screen y points down), then shift".
    centre = side / 2
    grid = np.arange(side) + 0.5 - centre
    x = grid[None, None, :] - shifts[:, 0, None, None]
    y = grid[None, :, None] - shifts[:, 1, None, None]
    source_x = cos[:, None, None] * x - sin[:, None, None] * y + centre - 0.5
    source_y = sin[:, None, None] * x + cos[:, None, None] * y + centre - 0.5
    left, top = np.floor(source_x), np.floor(source_y)
    right_share = (source_x - left).astype(np.float32)
    bottom_share = (source_y - top).astype(np.float32)
    # Two pixels of black all round: a corner clipped into them reads black, as everything
    # outside the frame does, so one flat gather per corner needs no mask.
    width = side + 4
    padded = np.pad(frames, ((0, 0), (2, 2), (2, 2))).reshape(-1)
    columns = np.clip(left, -2, side).astype(np.intp) + 2
    rows = np.clip(top, -2, side).astype(np.intp) + 2
    at = (np.arange(count) * width * width)[:, None, None] + rows * width + columns
    below = at + width
    top_row = padded[at] + right_share * (padded[at + 1] - padded[at])
    bottom_row = padded[below] + right_share * (padded[below + 1] - padded[below])
    return (top_row + bottom_share * (bottom_row - top_row)).astype(np.float32)


def _varied(image: np.ndarray, variations: list[Variation]) -> np.ndarray:
    """(N, side, side): thicken, then scale, rotate and shift about the centre of `image`."""
    thickened: dict[float, np.ndarray] = {}
    for variation in variations:
        if variation.thickness not in thickened:
            thickened[variation.thickness] = (
                _thickened(image, variation.thickness) if variation.thickness else image
            )
    frames = np.stack([thickened[variation.thickness] for variation in variations])
    moving = [index for index, variation in enumerate(variations) if variation.moves]
    if moving:
        frames[moving] = _affine(frames[moving], [variations[index] for index in moving])
    return np.clip(frames, 0.0, 1.0)


def _checked(framed: np.ndarray) -> np.ndarray:
    image = np.asarray(framed, dtype=np.float32)
    if image.shape != (MNIST_SIDE, MNIST_SIDE):
        raise ValueError(f"expected a 28×28 frame, got shape {image.shape}")
    return image


def varied_frame(framed: np.ndarray, variation: Variation) -> np.ndarray:
    """The 28×28 frame (floats in [0, 1]) with the variation applied."""
    return _varied(_checked(framed), [variation])[0]


def varied_inputs(framed: np.ndarray, variations: list[Variation]) -> np.ndarray:
    """The network's 400 features for each varied drawing, resized 28→20 like every input."""
    frames = _varied(_checked(framed), variations)
    resized = RESIZE_MATRIX @ frames @ RESIZE_MATRIX.T
    return np.clip(resized, 0.0, 1.0).reshape(len(variations), -1).astype(np.float32)


def varied_input(framed: np.ndarray, variation: Variation) -> np.ndarray:
    return varied_inputs(framed, [variation])[0]


def frame_problem(framed: np.ndarray, variation: Variation) -> str | None:
    """What a learner should know about the varied picture: ink lost off the edges, or all of it."""
    # The same variation on a frame with room all around keeps all the ink: what lies
    # outside the middle 28×28 is what the real frame's edges cut off.
    roomy = _varied(np.pad(_checked(framed), MNIST_SIDE), [variation])[0]
    inside = roomy[MNIST_SIDE : 2 * MNIST_SIDE, MNIST_SIDE : 2 * MNIST_SIDE]
    if float(inside.max(initial=0.0)) < INK_THRESHOLD:
        return NOTHING_LEFT
    whole = float(roomy.sum())
    if whole > 0 and float(inside.sum()) < (1.0 - LOST_INK_SHARE) * whole:
        return OUT_OF_FRAME
    return None


@dataclass(frozen=True)
class Sweep:
    """P(1) as one probe runs through its range, the others held where the sliders are."""

    name: str
    values: np.ndarray
    probabilities: np.ndarray
    current: float

    @property
    def flips(self) -> list[float]:
        """Where the answer changes between 0 and 1 (P(1) crosses 0.5), interpolated."""
        ones = self.probabilities >= 0.5
        places = []
        for index in np.flatnonzero(ones[1:] != ones[:-1]):
            p0, p1 = self.probabilities[index], self.probabilities[index + 1]
            v0, v1 = self.values[index], self.values[index + 1]
            share = (0.5 - p0) / (p1 - p0) if p1 != p0 else 0.5
            places.append(float(v0 + share * (v1 - v0)))
        return places


def sweeps(
    weights: NetworkWeights, framed: np.ndarray, base: Variation = Variation()
) -> list[Sweep]:
    """Every probe's range around `base`, answered in one batched NumPy forward pass."""
    names = list(PROBE_RANGES)
    ranges = [probe_values(name, getattr(base, name)) for name in names]
    variations = [
        replace(base, **{name: float(value)})
        for name, values in zip(names, ranges, strict=True)
        for value in values
    ]
    probabilities = predict_proba(weights, varied_inputs(framed, variations))
    result, start = [], 0
    for name, values in zip(names, ranges, strict=True):
        chunk = probabilities[start : start + len(values)]
        result.append(Sweep(name, values, chunk, float(getattr(base, name))))
        start += len(values)
    return result
