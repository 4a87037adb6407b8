"""Handwriting distortions: each does what its name says to a real digit, reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import load_bundled
from model.distort import (
    DRAW_SIDE,
    SOLID,
    blurred,
    broken,
    canvas_ink,
    elastic,
    flagged,
    on_paper,
    reshaped,
    restroked,
    scanned,
    upscaled,
)
from model.preprocess import ink_bounding_box
from model.uploads import ink_from_photo


@pytest.fixture(scope="module")
def one() -> np.ndarray:
    dataset = load_bundled()
    return canvas_ink(dataset.images[np.flatnonzero(dataset.labels == 1)[0]])


@pytest.fixture(scope="module")
def zero() -> np.ndarray:
    dataset = load_bundled()
    return canvas_ink(dataset.images[np.flatnonzero(dataset.labels == 0)[0]])


def width(ink: np.ndarray) -> int:
    _top, left, _bottom, right = ink_bounding_box(ink)
    return right - left


def test_the_canvas_holds_the_digit_in_its_middle(zero: np.ndarray) -> None:
    assert zero.shape == (DRAW_SIDE, DRAW_SIDE) and zero.max() <= 1.0
    top, _left, bottom, _right = ink_bounding_box(zero)
    assert top >= DRAW_SIDE // 4 and bottom <= 3 * DRAW_SIDE // 4


def test_squeezing_narrows_and_stretching_widens(zero: np.ndarray) -> None:
    assert width(reshaped(zero, aspect=0.5)) < 0.6 * width(zero)
    assert width(reshaped(zero, aspect=1.5)) > 1.4 * width(zero)


def test_restroking_changes_the_ink_area_both_ways(zero: np.ndarray) -> None:
    area = (zero >= SOLID).sum()
    assert (restroked(zero, 5) >= SOLID).sum() > 1.5 * area
    assert (restroked(zero, -3) >= SOLID).sum() < 0.8 * area
    assert restroked(zero, -3).max() > 0  # a thinned pen leaves a trace


def test_breaking_cuts_gaps_into_the_strokes(zero: np.ndarray) -> None:
    cut = broken(zero, np.random.default_rng(0), 3, 1.5)
    assert (cut <= zero).all() and (cut >= SOLID).sum() < 0.95 * (zero >= SOLID).sum()


def test_a_flag_goes_left_from_the_top_and_a_base_sits_at_the_bottom(one: np.ndarray) -> None:
    top, _left, bottom, _right = ink_bounding_box(one)
    with_flag = flagged(one, flag=0.5, angle=30)
    added = (with_flag >= SOLID) & ~(one >= SOLID)
    rows, columns = np.nonzero(added)
    solid_top = np.flatnonzero((one >= SOLID).any(axis=1))[0]
    top_column = np.nonzero(one[solid_top] >= SOLID)[0].mean()
    assert columns.min() < top_column - 0.3 * (bottom - top)
    assert rows.max() < top + (bottom - top) / 2
    with_base = flagged(one, flag=0.0, angle=30, base=0.8)
    base_rows = np.flatnonzero(((with_base >= SOLID) & ~(one >= SOLID)).any(axis=1))
    assert base_rows.min() > top + (bottom - top) / 2


def test_elastic_warps_are_seeded_and_keep_the_digit(zero: np.ndarray) -> None:
    first = elastic(zero, np.random.default_rng(3), 0.05)
    assert np.array_equal(first, elastic(zero, np.random.default_rng(3), 0.05))
    assert not np.array_equal(first, zero)
    assert 0.7 < first.sum() / zero.sum() < 1.3


def test_blur_scan_and_upscale_keep_the_canvas_size_or_shrink_it(zero: np.ndarray) -> None:
    assert blurred(zero, 3).shape == zero.shape and blurred(zero, 3).max() < zero.max()
    assert scanned(zero, 40).shape == (40, 40)
    assert upscaled(zero, 20).shape == zero.shape


def test_paper_is_read_back_as_the_same_ink(zero: np.ndarray) -> None:
    gray = on_paper(zero, np.random.default_rng(1), 0.01, 0.05)
    assert gray.min() >= 0.0 and gray.max() <= 1.0
    assert np.median(gray) > 0.6  # light paper, dark ink
    ink, inverted = ink_from_photo(gray)
    assert inverted
    assert ink_bounding_box(ink) == pytest.approx(ink_bounding_box(zero), abs=3)
