"""The drawing pipeline: ink extraction, empty/too-small detection, each step, and faithfulness to MNIST."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.config import INPUT_FEATURES
from model.data import MNIST_SIDE, load_bundled, split_indices, to_features
from model.forward import predict_proba
from model.preprocess import (
    CANVAS_SIDE,
    FIT_SIDE,
    MIN_STROKE_WIDTH,
    PROBLEM_EMPTY,
    PROBLEM_TOO_SMALL,
    canvas_from_image28,
    centre_of_mass,
    ink_bounding_box,
    ink_from_rgba,
    preprocess,
    stroke_width,
)
from model.storage import load_pretrained


def drawn(strokes: list[list[tuple[float, float]]], width: int = 20) -> np.ndarray:
    """White strokes on an opaque black canvas, like the Draw page's canvas returns them."""
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    for points in strokes:
        pen.line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
    return np.asarray(image)


def test_opaque_canvas_is_read_as_light_ink_on_dark() -> None:
    rgba = drawn([[(100, 40), (100, 240)]])
    ink = ink_from_rgba(rgba)
    assert ink.shape == (CANVAS_SIDE, CANVAS_SIDE)
    assert ink[140, 100] == pytest.approx(1.0)
    assert ink[140, 200] == 0.0


def test_transparent_canvas_keeps_the_ink_in_the_alpha_channel() -> None:
    rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    rgba[40:240, 90:110, 3] = 255  # black pen (RGB 0) on a transparent background
    ink = ink_from_rgba(rgba)
    assert ink[100, 100] == 1.0 and ink[100, 50] == 0.0


def test_rejects_a_non_image_array() -> None:
    with pytest.raises(ValueError, match="RGBA"):
        ink_from_rgba(np.zeros((10, 10, 2)))


@pytest.mark.parametrize(
    "rgba",
    [
        np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8),
        np.dstack([np.zeros((CANVAS_SIDE, CANVAS_SIDE, 3), np.uint8), np.full((280, 280), 255)]),
    ],
    ids=["transparent", "black"],
)
def test_an_empty_canvas_has_no_input_and_says_draw(rgba: np.ndarray) -> None:
    steps = preprocess(rgba)
    assert steps.problem == PROBLEM_EMPTY
    assert steps.features is None
    assert "draw" in steps.message.lower()


@pytest.mark.parametrize(
    "strokes, width",
    [
        ([[(140, 140), (141, 141)]], 20),  # a tap: a dot the size of the brush
        ([[(140, 130), (140, 150)]], 8),  # a tiny dash
        ([[(130, 130), (150, 150), (130, 150)]], 30),  # a blob
    ],
    ids=["dot", "dash", "blob"],
)
def test_a_dot_or_tiny_stroke_asks_to_draw_bigger(strokes: list, width: int) -> None:
    steps = preprocess(drawn(strokes, width))
    assert steps.problem == PROBLEM_TOO_SMALL
    assert steps.features is None
    assert "bigger" in steps.message


def test_every_step_has_the_documented_shape() -> None:
    steps = preprocess(drawn([[(100, 40), (120, 240)]], width=26))
    assert steps.thickened_by == 0
    top, left, bottom, right = steps.bbox
    assert steps.cropped.shape == (bottom - top, right - left)
    assert max(steps.fitted.shape) == FIT_SIDE
    assert steps.fitted.max() == pytest.approx(1.0)
    assert steps.framed.shape == (MNIST_SIDE, MNIST_SIDE)
    assert steps.network_input.shape == (20, 20)
    assert steps.features.shape == (INPUT_FEATURES,) and steps.features.dtype == np.float32
    assert steps.features.min() >= 0.0 and steps.features.max() <= 1.0


def test_stroke_width_is_measured_in_pixels() -> None:
    for width in (4, 8, 16):
        ink = ink_from_rgba(drawn([[(140, 40), (140, 240)]], width=width))
        assert stroke_width(ink) == pytest.approx(width, rel=0.15)


@pytest.mark.parametrize("brush", [3, 6, 10])
def test_strokes_thinner_than_an_mnist_pen_are_thickened(brush: int) -> None:
    steps = preprocess(drawn([[(140, 30), (140, 250)]], width=brush))
    assert steps.thickened_by > 0
    longest = max(steps.cropped.shape)
    width_in_box = stroke_width(steps.cropped) * FIT_SIDE / longest
    assert width_in_box == pytest.approx(MIN_STROKE_WIDTH, abs=0.4)
    assert stroke_width(steps.ink) == pytest.approx(brush, abs=1.5)  # the raw ink is untouched


def test_strokes_as_wide_as_mnist_pens_are_left_alone() -> None:
    assert preprocess(drawn([[(140, 30), (140, 250)]], width=30)).thickened_by == 0


def test_fitting_keeps_the_aspect_ratio() -> None:
    steps = preprocess(drawn([[(140, 40), (140, 240)]], width=20))
    height, width = steps.fitted.shape
    box_height, box_width = steps.cropped.shape
    assert height == FIT_SIDE
    assert width == pytest.approx(FIT_SIDE * box_width / box_height, abs=1)


def test_centring_puts_the_centre_of_mass_in_the_middle_wherever_it_was_drawn() -> None:
    corner = preprocess(drawn([[(30, 20), (40, 130)]], width=14))
    row, column = centre_of_mass(corner.framed)
    assert abs(row - MNIST_SIDE / 2) <= 0.5 and abs(column - MNIST_SIDE / 2) <= 0.5


def test_switching_steps_off_changes_what_the_network_sees() -> None:
    rgba = drawn([[(30, 20), (40, 130)]], width=14)
    full = preprocess(rgba).features
    no_crop = preprocess(rgba, crop=False)
    no_centre = preprocess(rgba, centre=False).features
    neither = preprocess(rgba, crop=False, centre=False)
    assert no_crop.cropped.shape == (CANVAS_SIDE, CANVAS_SIDE)
    # Without cropping the drawing keeps its size: 110 of 280 pixels tall, so 8 of 20.
    top, _, bottom, _ = ink_bounding_box(no_crop.framed)
    assert bottom - top <= 10
    # Without either step it also keeps its place, in the top-left corner.
    row, column = centre_of_mass(neither.framed)
    assert row < 12 and column < 10
    assert np.abs(no_crop.features - full).sum() > 10
    assert np.abs(no_centre - full).sum() > 5


def test_bounding_box_ignores_faint_anti_aliasing() -> None:
    ink = np.zeros((50, 50), dtype=np.float32)
    ink[10:20, 5:30] = 1.0
    ink[0, 0] = 0.05
    assert ink_bounding_box(ink) == (10, 5, 20, 30)


def test_the_pipeline_is_faithful_to_mnist() -> None:
    """Each MNIST test image, drawn 10× larger on a canvas, comes back as its dataset version.

    MNIST itself centred by whole pixels, so up to half a pixel of difference is expected:
    the bound is a small mean difference per pixel, far below the distance between images.
    """
    dataset = load_bundled()
    test_rows = split_indices(dataset.labels)["test"]
    expected = to_features(dataset.images[test_rows])
    pipeline = np.stack(
        [preprocess(canvas_from_image28(dataset.images[row])).features for row in test_rows]
    )
    mean_difference = np.abs(pipeline - expected).mean(axis=1)
    assert mean_difference.mean() < 0.035
    assert mean_difference.max() < 0.1
    own_distance = np.linalg.norm(pipeline - expected, axis=1)
    between = np.linalg.norm(expected[:, None] - expected[None], axis=2)
    np.fill_diagonal(between, np.inf)
    assert np.median(own_distance) < 0.6 * np.median(between.min(axis=1))
    weights = load_pretrained().weights
    labels = dataset.labels[test_rows]
    # The bundled model trades a perfect MNIST score for real handwriting: at least 99 %.
    assert np.mean((predict_proba(weights, pipeline) >= 0.5) == (labels == 1)) >= 0.99


def test_canvas_from_image28_is_an_opaque_enlargement() -> None:
    image = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.uint8)
    image[10:18, 12:16] = 255
    rgba = canvas_from_image28(image)
    assert rgba.shape == (CANVAS_SIDE, CANVAS_SIDE, 4) and rgba.dtype == np.uint8
    assert (rgba[..., 3] == 255).all()
    assert rgba[140, 140, 0] == 255 and rgba[10, 10, 0] == 0
    with pytest.raises(ValueError):
        canvas_from_image28(np.zeros((20, 20), dtype=np.uint8))
