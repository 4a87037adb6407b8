"""Class statistics, the hand-made forward pass (equal to Keras to 1e-5), and the weight images."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import SPLIT_NAMES, load_splits
from model.inspection import (
    GAP_RGB,
    NEGATIVE_RGB,
    POSITIVE_RGB,
    ZERO_RGB,
    as_image,
    class_counts,
    class_mean_images,
    diverging_rgb,
    enlarge,
    first_layer_images,
    first_layer_mosaic,
    forward_steps,
    grayscale_rgb,
    sample_positions,
    summarise,
    symmetric_limit,
    tile_grid,
    weight_heatmap,
)
from model.network import model_from_weights
from model.storage import load_pretrained
from tests.test_forward import random_weights


@pytest.fixture(scope="module")
def splits():
    return load_splits("bundled")


def test_class_counts_cover_every_split_and_sum_to_the_dataset(splits) -> None:
    counts = class_counts(splits)
    assert list(counts) == list(SPLIT_NAMES)
    assert sum(sum(by_label.values()) for by_label in counts.values()) == 1000
    for name in SPLIT_NAMES:
        split = getattr(splits, name)
        assert counts[name][0] + counts[name][1] == len(split)
        assert counts[name][1] == int(split.y.sum())


def test_mean_images_are_per_class_averages() -> None:
    x = np.zeros((4, 400), np.float32)
    x[0, 0] = 1.0
    x[1, 0] = 0.5
    x[2:, 399] = 1.0
    means = class_mean_images(x, np.array([0, 0, 1, 1]))
    assert means[0].shape == (20, 20)
    assert means[0][0, 0] == pytest.approx(0.75)
    assert means[1][19, 19] == 1.0
    assert means[1][0, 0] == 0.0
    assert list(class_mean_images(x[:2], np.array([0, 0]))) == [0]


def test_mean_one_is_narrower_than_mean_zero(splits) -> None:
    means = class_mean_images(splits.train.x, splits.train.y)
    # A 1 is a single stroke: less ink on average than a ring-shaped 0.
    assert means[1].sum() < means[0].sum()
    # A 0 has a hole in the middle, a 1 has ink there.
    assert means[1][10, 10] > means[0][10, 10]


def test_sample_positions_filter_shuffle_and_repeat() -> None:
    labels = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    ones = sample_positions(labels, 1, 3, shuffle_seed=4)
    assert len(ones) == 3 and set(labels[ones]) == {1}
    assert np.array_equal(ones, sample_positions(labels, 1, 3, shuffle_seed=4))
    everything = sample_positions(labels, None, 100, shuffle_seed=1)
    assert sorted(everything) == list(range(8))
    orders = {tuple(sample_positions(labels, None, 8, shuffle_seed=seed)) for seed in range(5)}
    assert len(orders) > 1


def test_forward_steps_shapes_and_values() -> None:
    weights = random_weights((25, 15), "relu", seed=3)
    x = np.random.default_rng(0).random(400, dtype=np.float32)
    steps = forward_steps(weights, x)
    assert [step.input_shape for step in steps] == [(1, 400), (1, 25), (1, 15)]
    assert [step.kernel_shape for step in steps] == [(400, 25), (25, 15), (15, 1)]
    assert [step.activation for step in steps] == ["relu", "relu", "sigmoid"]
    assert [step.is_output for step in steps] == [False, False, True]
    z1 = x @ weights.kernels[0] + weights.biases[0]
    assert np.allclose(steps[0].z, z1, atol=1e-5)
    assert np.allclose(steps[0].a, np.maximum(z1, 0), atol=1e-6)
    assert np.allclose(steps[1].z, steps[0].a @ weights.kernels[1] + weights.biases[1], atol=1e-5)
    assert steps[0].equation().startswith("(1×400) · (400×25) + (25,) → z (1×25)")
    top = steps[0].top_units(3)
    assert [value for _, value in top] == sorted(steps[0].a, reverse=True)[:3]
    assert top[0][0] == int(np.argmax(steps[0].a)) + 1
    summary = steps[0].z_summary()
    assert summary.minimum <= summary.mean <= summary.maximum
    assert summary.maximum == pytest.approx(float(z1.max()))


def test_forward_by_hand_equals_keras_on_the_bundled_model(splits) -> None:
    saved = load_pretrained()
    x = splits.test.x[:5]
    model = model_from_weights(saved.config, saved.weights)
    keras_probabilities = model.predict(x, verbose=0)[:, 0]
    by_hand = [float(forward_steps(saved.weights, row)[-1].a[0]) for row in x]
    assert np.max(np.abs(np.array(by_hand) - keras_probabilities)) < 1e-5


def test_summarise() -> None:
    summary = summarise(np.array([[-1.0, 0.0], [2.0, 3.0]]))
    assert (summary.minimum, summary.mean, summary.maximum) == (-1.0, 1.0, 3.0)


def test_diverging_colours_are_symmetric_around_white() -> None:
    rgb = diverging_rgb(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 5.0]), limit=2.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (6, 3)
    assert rgb[0].tolist() == NEGATIVE_RGB.astype(int).tolist()
    assert rgb[2].tolist() == ZERO_RGB.astype(int).tolist()
    assert rgb[4].tolist() == POSITIVE_RGB.astype(int).tolist()
    assert rgb[5].tolist() == rgb[4].tolist()
    half_negative = np.abs(rgb[1].astype(int) - ZERO_RGB) - np.abs(NEGATIVE_RGB - ZERO_RGB) / 2
    assert np.all(np.abs(half_negative) <= 1)


def test_diverging_colours_survive_zero_and_nan() -> None:
    assert diverging_rgb(np.zeros((2, 2))).tolist() == [[ZERO_RGB.astype(int).tolist()] * 2] * 2
    assert diverging_rgb(np.array([np.nan, 1.0])).shape == (2, 3)
    assert symmetric_limit(np.array([-3.0, 2.0])) == 3.0
    assert symmetric_limit(np.zeros(3)) == 1.0


def test_grayscale_and_enlarge() -> None:
    image = np.array([[0.0, 1.0], [0.5, 2.0]])
    rgb = grayscale_rgb(image)
    assert rgb[:, :, 0].tolist() == [[0, 255], [128, 255]]
    big = enlarge(rgb, 3)
    assert big.shape == (6, 6, 3)
    assert big[:3, 3:].tolist() == [[[255] * 3] * 3] * 3
    with pytest.raises(ValueError):
        enlarge(rgb, 0)
    assert as_image(np.arange(400)).shape == (20, 20)


def test_first_layer_images_are_the_columns_of_the_kernel() -> None:
    weights = random_weights((6, 4), "sigmoid")
    images = first_layer_images(weights)
    assert images.shape == (6, 20, 20)
    assert np.array_equal(images[2].ravel(), weights.kernels[0][:, 2])
    # Pixel (row 1, column 3) is feature 1·20 + 3, as in the 400-feature input rows.
    assert images[0][1, 3] == weights.kernels[0][23, 0]


def test_tile_grid_places_tiles_with_gaps() -> None:
    tiles = np.stack([np.full((2, 2, 3), value, np.uint8) for value in (10, 20, 30)])
    grid = tile_grid(tiles, columns=2, gap=1)
    assert grid.shape == (5, 5, 3)
    assert grid[0, 0, 0] == 10 and grid[0, 3, 0] == 20 and grid[3, 0, 0] == 30
    assert grid[2, 2].tolist() == list(GAP_RGB)
    assert grid[4, 4].tolist() == list(GAP_RGB)


def test_mosaic_and_heatmaps_of_the_bundled_model() -> None:
    weights = load_pretrained().weights
    mosaic = first_layer_mosaic(weights, columns=5, factor=4)
    assert mosaic.shape == (5 * 80 + 4 * 4, 5 * 80 + 4 * 4, 3)
    assert weight_heatmap(weights.kernels[1], factor=10).shape == (250, 150, 3)
    assert weight_heatmap(weights.kernels[2], factor=10).shape == (150, 10, 3)
