"""Small images shown to learners: pixels enlarged on a grid, the preprocessing strip, activations."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from model.forward import ForwardPass
from model.preprocess import FIT_SIDE, Preprocessed

GRID_COLOUR = (70, 70, 70)
BOX_COLOUR = (255, 140, 0)


def pixel_grid(
    image: np.ndarray, cell: int = 12, low: float = 0.0, high: float = 1.0
) -> np.ndarray:
    """An RGB uint8 picture of `image` with each pixel a cell×cell square and grid lines between.

    Browsers smooth small images when they enlarge them; drawing the squares ourselves keeps
    every pixel visible, which is the point of showing what the network sees.
    """
    values = np.asarray(image, dtype=np.float32)
    if values.ndim != 2 or 0 in values.shape or cell < 2:
        raise ValueError(f"expected a non-empty 2-D image and cell ≥ 2, got {values.shape}")
    span = high - low if high > low else 1.0
    gray = np.round(np.clip((values - low) / span, 0.0, 1.0) * 255).astype(np.uint8)
    squares = gray.repeat(cell, axis=0).repeat(cell, axis=1)
    picture = np.repeat(np.pad(squares, ((0, 1), (0, 1)))[..., None], 3, axis=2)
    picture[::cell, :] = GRID_COLOUR
    picture[:, ::cell] = GRID_COLOUR
    return picture


def show_pixels(image: np.ndarray, caption: str, cell: int = 12) -> None:
    st.image(pixel_grid(image, cell), caption=caption)


def with_box(ink: np.ndarray, bbox: tuple[int, int, int, int] | None) -> Image.Image:
    """The raw ink as a grayscale picture with the ink's bounding box outlined."""
    picture = Image.fromarray(np.round(np.clip(ink, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    if bbox is not None:
        top, left, bottom, right = bbox
        width = max(2, round(max(ink.shape) / 100))
        ImageDraw.Draw(picture).rectangle(
            [left, top, right - 1, bottom - 1], outline=BOX_COLOUR, width=width
        )
    return picture


def padded_square(image: np.ndarray, side: int | None = None) -> np.ndarray:
    """`image` centred on a black square (of `side`, default its longer side), for display."""
    height, width = image.shape
    side = max(height, width) if side is None else side
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = image
    return square


def show_xray(steps: Preprocessed) -> None:
    """The pipeline's steps side by side at one size, each captioned with what happened in it."""
    columns = st.columns(5)
    columns[0].image(with_box(steps.ink, steps.bbox), caption="1 · Raw ink", width="stretch")
    if (
        steps.cropped is None
        or steps.fitted is None
        or steps.framed is None
        or steps.network_input is None
    ):
        columns[1].caption(steps.message or "")
        return
    crop_caption = "2 · Cropped to the ink's box" if steps.crop else "2 · Not cropped: all of it"
    if steps.thickened_by:
        crop_caption += f", strokes {steps.thickened_by} px thicker (MNIST's pens were wider)"
    cropped = np.round(padded_square(steps.cropped) * 255).astype(np.uint8)
    columns[1].image(cropped, caption=crop_caption, width="stretch")
    height, width = steps.fitted.shape
    columns[2].image(
        pixel_grid(padded_square(steps.fitted, FIT_SIDE), cell=7),
        caption=f"3 · Fitted into 20×20, aspect kept ({width}×{height})",
        width="stretch",
    )
    centre_caption = "4 · Centred by mass in 28×28" if steps.centre else "4 · In 28×28, not centred"
    columns[3].image(pixel_grid(steps.framed, cell=5), caption=centre_caption, width="stretch")
    columns[4].image(
        pixel_grid(steps.network_input, cell=7),
        caption="5 · Shrunk 28→20: the input",
        width="stretch",
    )


def unit_grid(values: np.ndarray) -> np.ndarray:
    """Lay a layer's activations out as a nearly square grid; unused cells stay at the minimum."""
    count = values.size
    width = math.ceil(math.sqrt(count))
    height = math.ceil(count / width)
    grid = np.full(height * width, np.nan, dtype=np.float32)
    grid[:count] = values
    return grid.reshape(height, width)


def activation_range(activation: str, values: np.ndarray) -> tuple[float, float]:
    if activation == "tanh":
        return -1.0, 1.0
    if activation == "relu":
        return 0.0, max(1.0, float(np.max(values)))
    return 0.0, 1.0


def show_activations(layers: ForwardPass, activation: str) -> None:
    """Each hidden layer's units as a small heatmap (bright = active), then the output."""
    hidden = layers.activations[:-1]
    columns = st.columns(len(hidden) + 1)
    for index, (column, values) in enumerate(zip(columns, hidden, strict=False), start=1):
        row = values[0]
        low, high = activation_range(activation, row)
        grid = unit_grid(row)
        picture = pixel_grid(np.nan_to_num(grid, nan=low), cell=22, low=low, high=high)
        column.image(picture, caption=f"Hidden layer {index}: {row.size} units ({activation})")
        strongest = int(np.argmax(row))
        column.caption(f"Most active: unit {strongest + 1} at {row[strongest]:.2f}")
    with columns[-1]:
        probability = float(layers.probabilities[0])
        st.markdown(f"**Output unit (sigmoid):** {probability:.3f}")
        st.progress(probability, text="P(it is a 1)")
