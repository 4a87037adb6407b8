"""Ways real handwriting differs from MNIST, as seeded edits of a digit's large ink canvas."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from model.data import MNIST_SIDE
from model.preprocess import rank_filter, stroke_width

# A digit is redrawn this many times larger than MNIST, with room around it so that
# rotations, flags and elastic warps never leave the canvas.
DRAW_SCALE = 2
DRAW_SIDE = 2 * MNIST_SIDE * DRAW_SCALE
# Ink from this strength counts as part of a stroke when measuring a digit.
SOLID = 0.5
# The paper a scan or photo shows: its brightness, the pen's, and the sensor's noise.
PAPER_RANGE = (0.75, 1.0)
PEN_RANGE = (0.0, 0.35)
# Elastic warps: displacements drawn on a coarse grid, then smoothly interpolated.
ELASTIC_GRID = 5


def canvas_ink(image28: np.ndarray) -> np.ndarray:
    """A 28×28 uint8 digit drawn DRAW_SCALE times larger in the middle of an empty canvas."""
    large = Image.fromarray(np.asarray(image28, dtype=np.uint8)).resize(
        (MNIST_SIDE * DRAW_SCALE,) * 2, Image.Resampling.BILINEAR
    )
    canvas = Image.new("L", (DRAW_SIDE, DRAW_SIDE))
    margin = (DRAW_SIDE - large.width) // 2
    canvas.paste(large, (margin, margin))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def affine(ink: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a forward 2×2 matrix (x, y) about the canvas centre (Pillow wants the inverse map)."""
    side = ink.shape[0]
    inverse = np.linalg.inv(matrix)
    centre = (side - 1) / 2
    offset = centre - inverse @ np.array([centre, centre])
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = Image.fromarray(ink.astype(np.float32))
    moved = image.transform((side, side), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)
    return np.asarray(moved, dtype=np.float32)


def reshaped(
    ink: np.ndarray, *, degrees: float = 0.0, shear: float = 0.0, aspect: float = 1.0
) -> np.ndarray:
    """Rotated, slanted (x += shear·y) and squeezed (aspect < 1) or stretched (> 1) sideways."""
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    slant = np.array([[1.0, shear], [0.0, 1.0]])
    return affine(ink, rotation @ slant @ np.diag([aspect, 1.0]))


def restroked(ink: np.ndarray, size: int) -> np.ndarray:
    """Strokes `size - 1` canvas pixels thicker (size > 1) or `-size - 1` thinner (size < -1)."""
    if size > 1:
        return rank_filter(ink, size, np.maximum)
    if size < -1:
        thinner = rank_filter(ink, -size, np.minimum)
        # A pen never vanishes: where thinning removed a whole stroke, keep a faint trace.
        return np.maximum(thinner, 0.6 * rank_filter(ink, 2, np.minimum))
    return ink


def pen_width(ink: np.ndarray) -> float:
    return max(2.0, stroke_width(ink >= SOLID))


def broken(ink: np.ndarray, rng: np.random.Generator, gaps: int, gap: float) -> np.ndarray:
    """`gaps` cuts across the strokes, each `gap` pen widths long, where the pen skipped."""
    rows, columns = np.nonzero(ink >= SOLID)
    if rows.size == 0:
        return ink
    radius = gap * pen_width(ink) / 2
    mask = Image.new("L", ink.shape[::-1], 255)
    draw = ImageDraw.Draw(mask)
    for pick in rng.choice(rows.size, size=gaps, replace=rows.size < gaps):
        y, x = rows[pick], columns[pick]
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return ink * (np.asarray(mask, dtype=np.float32) / 255.0)


def _ink_extent(ink: np.ndarray) -> tuple[int, int, float, float] | None:
    """Top and bottom rows of the solid ink, and the mean column of each end."""
    rows = np.flatnonzero((ink >= SOLID).any(axis=1))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1])
    band = max(2, (bottom - top) // 20)
    top_x = float(np.mean(np.nonzero(ink[top : top + band] >= SOLID)[1]))
    bottom_x = float(np.mean(np.nonzero(ink[bottom - band + 1 : bottom + 1] >= SOLID)[1]))
    return top, bottom, top_x, bottom_x


def flagged(
    ink: np.ndarray, *, flag: float, angle: float, base: float = 0.0, strength: float = 1.0
) -> np.ndarray:
    """A 1 as many people write it: a flag from its top down to the left, optionally a base.

    `flag` and `base` are lengths as shares of the digit's height (0: none); `angle` is the
    flag's slope below the horizontal, in degrees.
    """
    extent = _ink_extent(ink)
    if extent is None:
        return ink
    top, bottom, top_x, bottom_x = extent
    height = bottom - top + 1
    width = max(2, round(pen_width(ink)))
    pen = Image.new("L", ink.shape[::-1], 0)
    draw = ImageDraw.Draw(pen)
    if flag > 0:
        length = flag * height
        radians = math.radians(angle)
        end = (top_x - length * math.cos(radians), top + length * math.sin(radians))
        draw.line(((top_x, top + width / 2), end), fill=255, width=width, joint="curve")
    if base > 0:
        half = base * height / 2
        y = bottom - width / 2
        draw.line(((bottom_x - half, y), (bottom_x + half, y)), fill=255, width=width)
    return np.maximum(ink, strength * np.asarray(pen, dtype=np.float32) / 255.0)


def _smooth_field(rng: np.random.Generator, side: int) -> np.ndarray:
    coarse = rng.standard_normal((ELASTIC_GRID, ELASTIC_GRID)).astype(np.float32)
    return np.asarray(
        Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32
    )


def elastic(ink: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A smooth random warp moving strokes by about `amount` of the digit's size."""
    side = ink.shape[0]
    scale = amount * MNIST_SIDE * DRAW_SCALE
    dx, dy = (scale * _smooth_field(rng, side) for _ in range(2))
    grid_y, grid_x = np.mgrid[0:side, 0:side].astype(np.float32)
    x = np.clip(grid_x + dx, 0, side - 1.001)
    y = np.clip(grid_y + dy, 0, side - 1.001)
    x0, y0 = x.astype(np.int32), y.astype(np.int32)
    fx, fy = x - x0, y - y0
    top = ink[y0, x0] * (1 - fx) + ink[y0, x0 + 1] * fx
    bottom = ink[y0 + 1, x0] * (1 - fx) + ink[y0 + 1, x0 + 1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def blurred(ink: np.ndarray, radius: float) -> np.ndarray:
    """Out of focus: a Gaussian blur of `radius` canvas pixels."""
    image = Image.fromarray(np.round(np.clip(ink, 0, 1) * 255).astype(np.uint8))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255.0


def scanned(ink: np.ndarray, side: int) -> np.ndarray:
    """The canvas seen by a coarse scanner: `side` × `side` pixels (the digit fills half)."""
    image = Image.fromarray(np.clip(ink, 0, 1).astype(np.float32))
    return np.asarray(image.resize((side, side), Image.Resampling.BOX), dtype=np.float32)


def upscaled(ink: np.ndarray, side: int) -> np.ndarray:
    """Scanned at `side` pixels, then enlarged back with interpolation, as a viewer would."""
    small = Image.fromarray(scanned(ink, side))
    return np.asarray(small.resize(ink.shape[::-1], Image.Resampling.BILINEAR), dtype=np.float32)


def on_paper(
    ink: np.ndarray, rng: np.random.Generator, noise: float, shade: float = 0.0
) -> np.ndarray:
    """Dark pen on light paper, `shade` darker on one side, with sensor noise of std `noise`."""
    paper = rng.uniform(*PAPER_RANGE)
    pen = rng.uniform(*PEN_RANGE)
    height, width = ink.shape
    # A shadow across the sheet: brightness falls off linearly in a random direction.
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (np.mgrid[0:height, 0:width][1] / width - 0.5) * math.cos(angle) + (
        np.mgrid[0:height, 0:width][0] / height - 0.5
    ) * math.sin(angle)
    background = paper - shade * ramp
    gray = background - np.clip(ink, 0, 1) * (background - pen)
    gray = gray + rng.normal(0.0, noise, ink.shape)
    return np.clip(gray, 0.0, 1.0).astype(np.float32)
