"""Image helpers for pages: enlarged pixels on a grid, square padding, activation grids."""

from __future__ import annotations

import numpy as np
import pytest

from ui.images import GRID_COLOUR, activation_range, padded_square, pixel_grid, unit_grid


def test_pixel_grid_draws_each_pixel_as_a_square_between_grid_lines() -> None:
    image = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    picture = pixel_grid(image, cell=4)
    assert picture.shape == (9, 9, 3) and picture.dtype == np.uint8
    assert tuple(picture[0, 0]) == GRID_COLOUR and tuple(picture[4, 2]) == GRID_COLOUR
    assert (picture[1:4, 1:4] == 0).all()
    assert (picture[1:4, 5:8] == 255).all()
    assert (picture[5:8, 1:4] == 128).all()


def test_pixel_grid_maps_a_custom_range_and_refuses_nonsense() -> None:
    picture = pixel_grid(np.array([[-1.0, 1.0]]), cell=3, low=-1.0, high=1.0)
    assert picture[1, 1, 0] == 0 and picture[1, 4, 0] == 255
    with pytest.raises(ValueError):
        pixel_grid(np.zeros(5), cell=4)


def test_padded_square_centres_the_image() -> None:
    square = padded_square(np.ones((4, 2), dtype=np.float32))
    assert square.shape == (4, 4)
    assert square[:, 1:3].all() and not square[:, 0].any() and not square[:, 3].any()
    assert padded_square(np.ones((3, 2)), side=20).sum() == 6


def test_unit_grid_lays_out_layers_nearly_square() -> None:
    assert unit_grid(np.arange(25.0)).shape == (5, 5)
    grid = unit_grid(np.arange(15.0))
    assert grid.shape == (4, 4) and np.isnan(grid.reshape(-1)[15])


def test_activation_ranges_follow_the_function() -> None:
    values = np.array([0.5, 3.0])
    assert activation_range("sigmoid", values) == (0.0, 1.0)
    assert activation_range("tanh", values) == (-1.0, 1.0)
    assert activation_range("relu", values) == (0.0, 3.0)
