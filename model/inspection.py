"""What the Data and Under-the-hood pages compute: class statistics, the forward pass step by step, weight images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.config import INPUT_SIDE
from model.data import SPLIT_NAMES, Splits
from model.forward import NetworkWeights, forward

CLASSES = (0, 1)
TOP_UNITS = 3
# Diverging colour map: blue for negative, white at zero, red for positive (RGB endpoints).
NEGATIVE_RGB = np.array([33, 102, 172], dtype=np.float32)
ZERO_RGB = np.array([247, 247, 247], dtype=np.float32)
POSITIVE_RGB = np.array([178, 24, 43], dtype=np.float32)
GAP_RGB = (255, 255, 255)


def class_counts(splits: Splits) -> dict[str, dict[int, int]]:
    """How many 0s and 1s each split holds, in split order."""
    return {
        name: {label: int(np.sum(getattr(splits, name).y == label)) for label in CLASSES}
        for name in SPLIT_NAMES
    }


def class_mean_images(x: np.ndarray, y: np.ndarray) -> dict[int, np.ndarray]:
    """The average 20×20 image of each class present in `y` (rows of 400 features)."""
    rows = np.asarray(x, dtype=np.float32).reshape(len(x), INPUT_SIDE * INPUT_SIDE)
    labels = np.asarray(y)
    return {
        label: rows[labels == label].mean(axis=0).reshape(INPUT_SIDE, INPUT_SIDE)
        for label in CLASSES
        if np.any(labels == label)
    }


def brightest_to_white(image: np.ndarray) -> np.ndarray:
    """Rescale so the brightest pixel is 1: an average of faint strokes stays visible."""
    brightest = float(np.max(image)) if np.size(image) else 0.0
    return np.asarray(image, dtype=np.float32) / brightest if brightest > 0 else image


def sample_positions(
    labels: np.ndarray, label: int | None, count: int, shuffle_seed: int
) -> np.ndarray:
    """Up to `count` positions of the wanted label (all labels if None), in a seeded random order."""
    candidates = np.flatnonzero(np.asarray(labels) == label if label is not None else labels >= 0)
    order = np.random.default_rng(shuffle_seed).permutation(len(candidates))
    return candidates[order[:count]]


def as_image(features: np.ndarray) -> np.ndarray:
    """400 features → the 20×20 picture the network sees."""
    return np.asarray(features, dtype=np.float32).reshape(INPUT_SIDE, INPUT_SIDE)


@dataclass(frozen=True)
class Summary:
    minimum: float
    mean: float
    maximum: float


def summarise(values: np.ndarray) -> Summary:
    flat = np.asarray(values, dtype=np.float64).ravel()
    return Summary(float(flat.min()), float(flat.mean()), float(flat.max()))


@dataclass(frozen=True)
class LayerStep:
    """One Dense layer applied to one input: `z = a_in·W + b`, then `a = g(z)`."""

    number: int
    activation: str
    input_shape: tuple[int, ...]
    kernel_shape: tuple[int, ...]
    bias_shape: tuple[int, ...]
    z: np.ndarray
    a: np.ndarray
    is_output: bool

    @property
    def units(self) -> int:
        return self.a.shape[-1]

    def z_summary(self) -> Summary:
        return summarise(self.z)

    def a_summary(self) -> Summary:
        return summarise(self.a)

    def top_units(self, count: int = TOP_UNITS) -> list[tuple[int, float]]:
        """The most active units as (1-based unit number, activation), largest first."""
        order = np.argsort(-self.a, kind="stable")[:count]
        return [(int(unit) + 1, float(self.a[unit])) for unit in order]

    def equation(self) -> str:
        """The shapes of this step, e.g. `(1×400)·(400×25) + (25) → z (1×25)`."""
        rows, fan_in = self.input_shape
        fan_out = self.kernel_shape[1]
        return (
            f"({rows}×{fan_in}) · ({fan_in}×{fan_out}) + ({fan_out},) → "
            f"z ({rows}×{fan_out}), a = {self.activation}(z) ({rows}×{fan_out})"
        )


def forward_steps(weights: NetworkWeights, x: np.ndarray) -> list[LayerStep]:
    """The forward pass by hand for one input of 400 features, one step per Dense layer."""
    features = np.asarray(x, dtype=np.float32).reshape(1, -1)
    run = forward(weights, features)
    last = len(weights.kernels) - 1
    steps = []
    layer_input = run.inputs
    for index, (kernel, bias) in enumerate(zip(weights.kernels, weights.biases, strict=True)):
        steps.append(
            LayerStep(
                number=index + 1,
                activation="sigmoid" if index == last else weights.activation,
                input_shape=tuple(layer_input.shape),
                kernel_shape=tuple(kernel.shape),
                bias_shape=tuple(bias.shape),
                z=run.pre_activations[index][0],
                a=run.activations[index][0],
                is_output=index == last,
            )
        )
        layer_input = run.activations[index]
    return steps


def symmetric_limit(values: np.ndarray) -> float:
    """The colour scale's half-width: the largest |value|, never zero (all-zero weights)."""
    largest = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return largest if np.isfinite(largest) and largest > 0 else 1.0


def diverging_rgb(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Map values to uint8 RGB: blue below zero, white at zero, red above, saturating at ±limit."""
    data = np.nan_to_num(np.asarray(values, dtype=np.float32))
    scale = symmetric_limit(data) if limit is None else limit
    t = np.clip(data / scale, -1.0, 1.0)[..., np.newaxis]
    towards = np.where(t < 0, NEGATIVE_RGB, POSITIVE_RGB)
    rgb = ZERO_RGB + np.abs(t) * (towards - ZERO_RGB)
    return np.rint(rgb).astype(np.uint8)


def grayscale_rgb(image: np.ndarray) -> np.ndarray:
    """Intensities in [0, 1] (white ink on black, as MNIST) → uint8 RGB."""
    levels = np.rint(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(levels[..., np.newaxis], 3, axis=-1)


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so each pixel stays a crisp square when shown large."""
    if factor < 1:
        raise ValueError(f"the enlargement factor must be at least 1, got {factor}")
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def first_layer_images(weights: NetworkWeights) -> np.ndarray:
    """Each first-layer unit's 400 incoming weights as a 20×20 image: (units, 20, 20)."""
    kernel = weights.kernels[0]
    return kernel.T.reshape(kernel.shape[1], INPUT_SIDE, INPUT_SIDE)


def tile_grid(tiles: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """Lay out (n, h, w, 3) uint8 tiles in rows of `columns`, separated by white gaps."""
    count, height, width = tiles.shape[:3]
    rows = -(-count // columns)
    grid = np.empty(
        (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), np.uint8
    )
    grid[:] = GAP_RGB
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        grid[top : top + height, left : left + width] = tiles[index]
    return grid


def first_layer_mosaic(weights: NetworkWeights, columns: int = 5, factor: int = 4) -> np.ndarray:
    """All first-layer weight images on one shared scale around zero, enlarged, as one RGB image."""
    images = first_layer_images(weights)
    limit = symmetric_limit(images)
    tiles = np.stack([enlarge(diverging_rgb(image, limit), factor) for image in images])
    return tile_grid(tiles, min(columns, len(tiles)), gap=factor)


def weight_heatmap(kernel: np.ndarray, factor: int = 12) -> np.ndarray:
    """A (fan_in × fan_out) weight matrix as an enlarged RGB heatmap on its own scale around zero."""
    return enlarge(diverging_rgb(np.atleast_2d(kernel)), factor)


def colour_bar(width: int = 240, height: int = 12) -> np.ndarray:
    """The diverging scale from −limit (left) through 0 to +limit (right), as an RGB strip."""
    ramp = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    return diverging_rgb(np.tile(ramp, (height, 1)), limit=1.0)
