"""The drawing pipeline: canvas pixels → MNIST-style 28×28 frame → the network's 400 features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from model.data import MNIST_SIDE, resize_to_input

CANVAS_SIDE = 280
# MNIST fitted each digit into a 20×20 box (aspect ratio kept) inside its 28×28 frame.
FIT_SIDE = 20
# A pixel this bright (0..1) is ink; lower values are anti-aliasing or sensor noise.
INK_THRESHOLD = 0.1
# A digit's bounding box must span at least this share of the canvas's shorter side...
MIN_DIGIT_FRACTION = 0.15
# ...and a blob shorter than DOT_FRACTION that fills most of its box is a dot, not a digit.
DOT_FRACTION = 0.3
DOT_FILL = 0.6
# An upload (a photo or scan) may hold a small digit in a big picture, so its digit is judged
# by its own size: a box shorter than this many pixels is too few pixels to read (a 20-pixel
# digit is readable, a speck is not), and a filled one shorter than UPLOAD_DOT_PIXELS is a dot
# if it is round: a coarse scan's 1 of 15 pixels also fills its box, but is long and narrow.
MIN_UPLOAD_DIGIT_PIXELS = 10
UPLOAD_DOT_PIXELS = 2 * MIN_UPLOAD_DIGIT_PIXELS
DOT_ROUNDNESS = 0.75
# MNIST's pens are at least this wide once a digit is fitted into its 20×20 box (about its
# 5th percentile); thinner strokes, common with a fine brush, are thickened to it.
MIN_STROKE_WIDTH = 2.0
# `stroke_width` cannot tell a 1-pixel stroke from a 2-pixel one (both are all outline), so a
# small digit, such as a coarse scan's, is measured enlarged to at least this many pixels.
MEASURE_SIDE = 4 * FIT_SIDE

PROBLEM_EMPTY = "empty"
PROBLEM_TOO_SMALL = "too_small"
PROBLEM_MESSAGES = {
    PROBLEM_EMPTY: "The canvas is empty: draw a 0 or a 1.",
    PROBLEM_TOO_SMALL: (
        "That is too small to be a digit: draw it bigger, filling most of the canvas's height."
    ),
}
UPLOAD_TOO_SMALL_MESSAGE = (
    "The ink in this picture is too small to be a digit (a dot or a speck): upload a picture "
    f"whose 0 or 1 is at least {UPLOAD_DOT_PIXELS} pixels tall."
)
LUMINANCE_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

BoundingBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class Preprocessed:
    """Every step's image, for the prediction and for the X-ray strip; floats in [0, 1].

    When `problem` is set the steps after the raw ink are None and there is no input.
    """

    ink: np.ndarray
    bbox: BoundingBox | None = None
    cropped: np.ndarray | None = None
    fitted: np.ndarray | None = None
    framed: np.ndarray | None = None
    network_input: np.ndarray | None = None
    problem: str | None = None
    crop: bool = True
    centre: bool = True
    thickened_by: int = 0
    upload: bool = False

    @property
    def features(self) -> np.ndarray | None:
        """The 400 float32 numbers the network reads, or None when there is nothing to read."""
        if self.network_input is None:
            return None
        return self.network_input.reshape(-1)

    @property
    def message(self) -> str | None:
        if self.upload and self.problem == PROBLEM_TOO_SMALL:
            return UPLOAD_TOO_SMALL_MESSAGE
        return None if self.problem is None else PROBLEM_MESSAGES[self.problem]


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """Ink strength per pixel in [0, 1] from an H×W×4 (or ×3, or H×W gray) image.

    With any transparent pixel the ink is the alpha channel (a transparent canvas, whatever
    the pen colour); a fully opaque image is read as light ink on a dark background, like MNIST.
    """
    array = np.asarray(rgba)
    if array.ndim == 2:
        return array.astype(np.float32) / 255.0
    if array.ndim != 3 or array.shape[2] not in (3, 4) or 0 in array.shape:
        raise ValueError(f"expected an H×W×4 RGBA image, got shape {array.shape}")
    if array.shape[2] == 4 and array[..., 3].min() < 255:
        return array[..., 3].astype(np.float32) / 255.0
    return (array[..., :3].astype(np.float32) @ LUMINANCE_WEIGHTS) / 255.0


def ink_bounding_box(ink: np.ndarray) -> BoundingBox | None:
    """(top, left, bottom, right), bottom and right exclusive, of the pixels that are ink."""
    is_ink = ink >= INK_THRESHOLD
    rows = np.flatnonzero(is_ink.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(is_ink.any(axis=0))
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def is_too_small(ink: np.ndarray, bbox: BoundingBox, *, upload: bool = False) -> bool:
    """A dot or a digit too small to read: against the canvas's side, or an upload's pixels."""
    top, left, bottom, right = bbox
    longest = max(bottom - top, right - left)
    side = min(ink.shape)
    smallest, dot = MIN_DIGIT_FRACTION * side, DOT_FRACTION * side
    if upload:
        smallest, dot = MIN_UPLOAD_DIGIT_PIXELS, UPLOAD_DOT_PIXELS
    if longest < smallest:
        return True
    fill = float(np.mean(ink[top:bottom, left:right] >= INK_THRESHOLD))
    round_enough = not upload or min(bottom - top, right - left) >= DOT_ROUNDNESS * longest
    return longest < dot and fill > DOT_FILL and round_enough


def rank_filter(ink: np.ndarray, size: int, pick: np.ufunc) -> np.ndarray:
    """A square max (thicker) or min (thinner) filter, done separably: two passes of `size`."""
    radius = size // 2
    fill = 0.0 if pick is np.maximum else 1.0
    result = ink
    for axis in (0, 1):
        padded = np.pad(
            result,
            [(radius, radius) if a == axis else (0, 0) for a in (0, 1)],
            constant_values=fill,
        )
        length = result.shape[axis]
        result = padded.take(range(0, length), axis=axis)
        for start in range(1, size):
            result = pick(result, padded.take(range(start, start + length), axis=axis))
    return result


def stroke_width(ink: np.ndarray) -> float:
    """Average stroke width in pixels: twice the ink's area over its outline's length."""
    solid = ink >= 0.5
    inside = solid.copy()
    inside[1:, :] &= solid[:-1, :]
    inside[:-1, :] &= solid[1:, :]
    inside[:, 1:] &= solid[:, :-1]
    inside[:, :-1] &= solid[:, 1:]
    inside[[0, -1], :] = False
    inside[:, [0, -1]] = False
    outline = int((solid & ~inside).sum())
    return 2.0 * float(solid.sum()) / outline if outline else 0.0


def thickening_for(ink: np.ndarray, bbox: BoundingBox) -> int:
    """Pixels to add to the strokes so that, fitted into 20×20, they are MNIST-wide (0: none)."""
    top, left, bottom, right = bbox
    longest = max(bottom - top, right - left)
    width = measured_width(ink, bbox)
    missing = (MIN_STROKE_WIDTH - width * FIT_SIDE / longest) * longest / FIT_SIDE
    return 2 * round(missing / 2) if missing > 0 else 0


def measured_width(ink: np.ndarray, bbox: BoundingBox) -> float:
    """The strokes' average width in pixels, measured enlarged when the digit is small."""
    top, left, bottom, right = bbox
    longest = max(bottom - top, right - left)
    box = ink[top:bottom, left:right]
    factor = max(1, -(-MEASURE_SIDE // longest))
    if factor > 1:
        box = resized(box, box.shape[1] * factor, box.shape[0] * factor)
    return stroke_width(box) / factor


def resized(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average when shrinking (like the dataset's resize), interpolate when enlarging."""
    shrinking = width <= image.shape[1] and height <= image.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    frame = Image.fromarray(np.asarray(image, dtype=np.float32))
    return np.asarray(frame.resize((width, height), method), dtype=np.float32)


def fit_into_box(image: np.ndarray, side: int = FIT_SIDE) -> np.ndarray:
    """Scale so the longer side is `side` pixels, keeping the aspect ratio; strongest ink → 1.

    Every MNIST digit has full-strength pixels, so a thin or faint stroke is brought up to
    the same range instead of looking like a faded digit to the network.
    """
    height, width = image.shape
    scale = side / max(height, width)
    fitted = resized(image, max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.clip(fitted, 0.0, 1.0)
    peak = float(fitted.max())
    return fitted / peak if peak > 0 else fitted


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel-index coordinates."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = np.arange(image.shape[0], dtype=np.float32)
    columns = np.arange(image.shape[1], dtype=np.float32)
    return (
        float(image.sum(axis=1) @ rows) / total,
        float(image.sum(axis=0) @ columns) / total,
    )


def place_in_frame(fitted: np.ndarray, *, centre: bool) -> np.ndarray:
    """Paste the fitted image into an empty 28×28 frame.

    Centred: its centre of mass lands on the frame's centre, as MNIST did. Not centred: it
    stays at the top-left corner of the frame's middle 20×20 area, where it was put.
    """
    height, width = fitted.shape
    frame = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    if centre:
        row, column = centre_of_mass(fitted)
        # MNIST's centres of mass sit at index 14.0 (±0.5 from its whole-pixel shifts).
        middle = MNIST_SIDE / 2
        top = min(max(round(middle - row), 0), MNIST_SIDE - height)
        left = min(max(round(middle - column), 0), MNIST_SIDE - width)
    else:
        top = left = (MNIST_SIDE - FIT_SIDE) // 2
    frame[top : top + height, left : left + width] = fitted
    return frame


def preprocess_ink(
    ink: np.ndarray, *, crop: bool = True, centre: bool = True, upload: bool = False
) -> Preprocessed:
    """The pipeline from an ink map (H×W, [0, 1]); see `preprocess`."""
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    bbox = ink_bounding_box(ink)
    if bbox is None:
        return Preprocessed(ink, problem=PROBLEM_EMPTY, crop=crop, centre=centre, upload=upload)
    if is_too_small(ink, bbox, upload=upload):
        return Preprocessed(
            ink, bbox, problem=PROBLEM_TOO_SMALL, crop=crop, centre=centre, upload=upload
        )
    thickening = thickening_for(ink, bbox)
    inked = rank_filter(ink, thickening + 1, np.maximum) if thickening else ink
    top, left, bottom, right = ink_bounding_box(inked) or bbox
    cropped = inked[top:bottom, left:right] if crop else inked
    fitted = fit_into_box(cropped)
    framed = place_in_frame(fitted, centre=centre)
    network_input = np.clip(resize_to_input(framed), 0.0, 1.0).astype(np.float32)
    return Preprocessed(
        ink, bbox, cropped, fitted, framed, network_input, None, crop, centre, thickening, upload
    )


def preprocess(
    rgba: np.ndarray, *, crop: bool = True, centre: bool = True, upload: bool = False
) -> Preprocessed:
    """Canvas RGBA → ink → bounding box → fit in 20×20 → 28×28 by centre of mass → 20×20.

    The same steps that made MNIST (plus the dataset's 28→20 resize), so a drawing reaches
    the network looking like the images it learned from; strokes thinner than any MNIST pen
    are thickened first (`thickened_by` pixels). `crop=False` fits the whole canvas
    instead of the ink's box; `centre=False` skips the centre-of-mass shift. `upload=True`
    (a decoded photo or scan) judges "too small" by the digit's pixels, not the picture's side.
    """
    return preprocess_ink(ink_from_rgba(rgba), crop=crop, centre=centre, upload=upload)


def canvas_from_image28(image28: np.ndarray, side: int = CANVAS_SIDE) -> np.ndarray:
    """A 28×28 uint8 MNIST image (white on black) drawn large as an opaque canvas RGBA."""
    image = np.asarray(image28, dtype=np.uint8)
    if image.shape != (MNIST_SIDE, MNIST_SIDE):
        raise ValueError(f"expected a 28×28 image, got shape {image.shape}")
    large = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))
    opaque = np.full(large.shape, 255, dtype=np.uint8)
    return np.stack([large, large, large, opaque], axis=-1)
