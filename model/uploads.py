"""Uploaded PNG/JPEG files, decoded safely into the canvas pipeline's RGBA form."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from model.preprocess import (
    CANVAS_SIDE,
    INK_THRESHOLD,
    ink_bounding_box,
    measured_width,
    rank_filter,
)

ACCEPTED_FORMATS = ("PNG", "JPEG")
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg")
# 16 megapixels covers phone photos; past it a file is refused before its pixels are decoded
# (a small "decompression bomb" file can otherwise unpack into gigabytes on a shared server).
MAX_PIXELS = 16_000_000
# Large photos are shrunk to this side before the pipeline: more detail is never used.
WORK_SIDE = 2 * CANVAS_SIDE
# Pixels that differ from the paper's brightness by less than this share of the ink's
# contrast are paper texture, shadows or JPEG noise, not ink.
NOISE_FLOOR = 0.25
# A median brightness from this up means paper (or a light screen), so the ink is the dark part.
LIGHT_BACKGROUND = 0.5
# Sensor noise still leaves specks of a pixel or two past that floor; one far from the digit
# would stretch its bounding box and shrink the digit. Ink needs this many inked neighbours.
MIN_INK_NEIGHBOURS = 1
# Heavier noise leaves specks of a few pixels that survive that test. A blob of ink smaller
# than this share of the largest one, and farther than FAR_SPECK times the digit's size from
# the bigger blobs' box, is noise: a broken stroke's pieces lie close to the rest of the digit.
SPECK_SHARE = 0.1
FAR_SPECK = 0.15
# A pen that skipped leaves gaps in a stroke: gaps up to this many pen widths are joined.
JOIN_WIDTHS = 2.0
# Ink this faint inside a loop of strokes is paper showing through a blurred scan: a hole.
HOLE_INK = 0.5
# A closing also fills the inside of a 0 whose ring has a gap: it is open, so not a hole yet.
# What a pen's skip leaves is a short bridge, of at most this many square pen widths; a
# larger piece of paper that the closing would fill is the inside of a loop, and stays paper.
MAX_BRIDGE_AREA = 2 * JOIN_WIDTHS
DAMAGED = "This image file is damaged or incomplete and cannot be read. Try saving it again."


class UploadError(ValueError):
    """The upload cannot be used; the message says why in words a learner can act on."""


@dataclass(frozen=True)
class DecodedUpload:
    """An upload as an opaque light-on-dark RGBA image, plus what was done to it."""

    rgba: np.ndarray
    format: str
    original_size: tuple[int, int]
    inverted: bool


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _open(data: bytes) -> Image.Image:
    try:
        # Opening reads the header only. Pillow's own bomb check (a process-wide setting,
        # left alone here) only fires far above MAX_PIXELS, which `_load_pixels` enforces.
        return Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadError(
            f"This image has too many pixels (the limit is {MAX_PIXELS:,}). Use a smaller picture."
        ) from error
    except UnidentifiedImageError as error:
        raise UploadError(
            "This file is not a PNG or JPEG image. Upload a .png or .jpg picture of a 0 or a 1."
        ) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise UploadError(DAMAGED) from error


def _load_pixels(image: Image.Image) -> Image.Image:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UploadError(
            f"This image is {width:,}×{height:,} pixels, more than the limit of "
            f"{MAX_PIXELS:,}. Use a smaller picture."
        )
    if image.format == "JPEG":
        # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale: far less memory for big photos.
        image.draft("L", (WORK_SIDE, WORK_SIDE))
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UploadError(DAMAGED) from error
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return image


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _grayscale(image: Image.Image) -> np.ndarray:
    """Brightness in [0, 1]; 16-bit and float PNGs are scaled by their own range."""
    if image.mode.startswith(("I", "F")):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def despeckled(ink: np.ndarray) -> np.ndarray:
    """The ink without its specks: pixels with fewer than MIN_INK_NEIGHBOURS of 8 inked."""
    solid = ink >= INK_THRESHOLD
    padded = np.pad(solid, 1).astype(np.int8)
    height, width = solid.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    ) - solid.astype(np.int8)
    return np.where(neighbours >= MIN_INK_NEIGHBOURS, ink, 0.0).astype(np.float32)


def _runs(solid: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, first column, column after the last) of every horizontal run of solid pixels."""
    padded = np.pad(solid, ((0, 0), (1, 1))).astype(np.int8)
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    return list(zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True))


def blobs(
    solid: np.ndarray, *, diagonal: bool = True
) -> list[tuple[int, tuple[int, int, int, int], list[int]]]:
    """The blobs of a mask: (pixel count, (top, left, bottom, right), run indices).

    Pixels touching at a corner are one blob when `diagonal` (as ink is), else not (as the
    paper between strokes is, so that it does not leak out between two diagonal pixels).

    Joins runs of neighbouring rows that touch, with a union-find over runs: a few hundred
    runs per digit, where a pixel-by-pixel search would visit tens of thousands of pixels.
    """
    runs = _runs(solid)
    parent = list(range(len(runs)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    previous: list[int] = []
    current: list[int] = []
    row = -2
    for index, (run_row, start, end) in enumerate(runs):
        if run_row != row:
            previous = current if run_row == row + 1 else []
            current, row = [], run_row
        for other in previous:
            _, other_start, other_end = runs[other]
            if other_start < end + diagonal and start < other_end + diagonal:
                parent[root(other)] = root(index)
        current.append(index)
    groups: dict[int, list[int]] = {}
    for index in range(len(runs)):
        groups.setdefault(root(index), []).append(index)
    found = []
    for members in groups.values():
        rows = [runs[i][0] for i in members]
        box = (
            min(rows),
            min(runs[i][1] for i in members),
            max(rows) + 1,
            max(runs[i][2] for i in members),
        )
        found.append((sum(runs[i][2] - runs[i][1] for i in members), box, members))
    return found


def without_far_specks(ink: np.ndarray) -> np.ndarray:
    """The ink without small blobs far from the digit's bigger blobs (see SPECK_SHARE)."""
    solid = ink >= INK_THRESHOLD
    found = blobs(solid)
    if len(found) < 2:
        return ink
    largest = max(size for size, _, _ in found)
    big = [box for size, box, _ in found if size >= SPECK_SHARE * largest]
    top, left = min(b[0] for b in big), min(b[1] for b in big)
    bottom, right = max(b[2] for b in big), max(b[3] for b in big)
    reach = FAR_SPECK * max(bottom - top, right - left)
    runs = _runs(solid)
    keep = np.zeros_like(solid)
    for size, (b_top, b_left, b_bottom, b_right), members in found:
        gap_y = max(top - b_bottom, b_top - bottom, 0)
        gap_x = max(left - b_right, b_left - right, 0)
        if size < SPECK_SHARE * largest and max(gap_y, gap_x) > reach:
            continue
        for index in members:
            run_row, start, end = runs[index]
            keep[run_row, start:end] = True
    return np.where(keep, ink, 0.0).astype(np.float32)


def holes(ink: np.ndarray) -> np.ndarray:
    """Where the paper shows through inside the strokes (not connected to the picture's edge)."""
    paper = ink < HOLE_INK
    found = blobs(paper, diagonal=False)
    runs = _runs(paper)
    height, width = ink.shape
    inside = np.zeros(ink.shape, dtype=bool)
    for _, (top, left, bottom, right), members in found:
        if top == 0 or left == 0 or bottom == height or right == width:
            continue
        for index in members:
            row, start, end = runs[index]
            inside[row, start:end] = True
    return inside


def joined(ink: np.ndarray) -> np.ndarray:
    """The ink with short gaps in its strokes closed, where a pen skipped.

    A closing (thicken, then thin back) by JOIN_WIDTHS pen widths; the holes the strokes
    already enclosed are kept as they were, or a thick 0 would fill in and become a blob, and
    so is the inside of a ring with a gap (more paper than a bridge, MAX_BRIDGE_AREA).
    """
    bbox = ink_bounding_box(ink)
    if bbox is None or JOIN_WIDTHS <= 0:
        return ink
    # An odd size keeps the filters' windows centred, so the closed ink does not shift.
    width = measured_width(ink, bbox)
    size = 2 * round(JOIN_WIDTHS * width / 2) + 1
    if size < 3:
        return ink
    closed = rank_filter(rank_filter(ink, size, np.maximum), size, np.minimum)
    added = (closed >= HOLE_INK) & (ink < HOLE_INK)
    runs = _runs(added)
    for area, _, members in blobs(added):
        if area > MAX_BRIDGE_AREA * width * width:
            for index in members:
                row, start, end = runs[index]
                closed[row, start:end] = 0.0
    return np.where(holes(ink), ink, np.maximum(ink, closed)).astype(np.float32)


def ink_from_photo(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Ink in [0, 1] from a grayscale picture of any polarity; also says if it was inverted.

    The paper (or screen) is the median brightness. On a light background the ink is what
    is darker than it (a pen on paper), otherwise what is lighter (MNIST, a dark canvas).
    Contrast is stretched so the strongest ink is 1, and faint differences and specks dropped.
    """
    background = float(np.median(gray))
    inverted = background >= LIGHT_BACKGROUND
    difference = (background - gray) if inverted else (gray - background)
    strongest = float(difference.max())
    if strongest <= 0:
        return np.zeros_like(gray), inverted
    ink = np.clip(difference / strongest, 0.0, 1.0)
    ink = np.clip((ink - NOISE_FLOOR) / (1 - NOISE_FLOOR), 0.0, 1.0)
    ink = without_far_specks(despeckled(ink.astype(np.float32)))
    return joined(ink), inverted


def decode_upload(data: bytes, *, max_bytes: int) -> DecodedUpload:
    """Check and decode an uploaded file; raises UploadError with a learner-friendly message.

    A picture with a transparent background keeps its ink in the alpha channel. An opaque
    picture goes through `ink_from_photo`, so a dark digit on white paper works as well as
    a light digit on black.
    """
    if len(data) == 0:
        raise UploadError("This file is empty (0 bytes). Upload a PNG or JPEG picture.")
    if len(data) > max_bytes:
        raise UploadError(
            f"This file is {_megabytes(len(data))}, over the limit of {_megabytes(max_bytes)}. "
            "Use a smaller picture."
        )
    image = _open(data)
    file_format = image.format or "unknown"
    original_size = image.size
    image = _load_pixels(image)
    if _has_transparency(image):
        alpha = np.asarray(image.convert("RGBA"))[..., 3].astype(np.float32) / 255.0
        if alpha.min() < 1.0:
            ink, inverted = alpha, False
        else:
            ink, inverted = ink_from_photo(_grayscale(image))
    else:
        ink, inverted = ink_from_photo(_grayscale(image))
    level = np.round(ink * 255).astype(np.uint8)
    opaque = np.full(level.shape, 255, dtype=np.uint8)
    rgba = np.stack([level, level, level, opaque], axis=-1)
    return DecodedUpload(rgba, file_format, original_size, inverted)
