"""Streamlit helpers that show small arrays as crisp enlarged images: digits, weights, heatmaps."""

from __future__ import annotations

import numpy as np
import streamlit as st

from model.inspection import (
    as_image,
    colour_bar,
    enlarge,
    grayscale_rgb,
    symmetric_limit,
    weight_heatmap,
)

DIGIT_ZOOM = 8
HEATMAP_ZOOM = 12


def digit_rgb(features: np.ndarray, zoom: int = DIGIT_ZOOM) -> np.ndarray:
    """400 features or a 20×20 image → an enlarged grayscale picture, white ink on black."""
    return enlarge(grayscale_rgb(as_image(features)), zoom)


def show_digit(features: np.ndarray, caption: str | None = None, zoom: int = DIGIT_ZOOM) -> None:
    # Enlarged here, not by the browser, which would blur the 20×20 pixels.
    st.image(digit_rgb(features, zoom), caption=caption)


def show_colour_scale(limit: float) -> None:
    st.image(colour_bar())
    st.caption(f"blue −{limit:.2f} · white 0 · red +{limit:.2f}")


def show_weight_heatmap(kernel: np.ndarray, name: str, zoom: int = HEATMAP_ZOOM) -> None:
    """One layer's (fan_in × fan_out) kernel drawn as a row per unit, a column per input."""
    fan_in, fan_out = kernel.shape
    limit = symmetric_limit(kernel)
    st.image(
        weight_heatmap(kernel.T, zoom),
        caption=f"{name}: {fan_out} unit{'s' * (fan_out > 1)} × {fan_in} inputs · scale ±{limit:.2f}",
    )
