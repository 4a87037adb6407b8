"""Augmentation: only the training split grows, reproducibly, with real canvas-like variation."""

from __future__ import annotations

import numpy as np
import pytest

from model.augment import AUGMENTED_COPIES, Augmentation, drawn_large
from model.config import INPUT_FEATURES, TrainConfig
from model.data import Split, Splits, load_bundled, load_splits
from model.preprocess import centre_of_mass, rank_filter
from model.training_data import training_splits

SMALL_TRAIN = 24


@pytest.fixture(scope="module")
def small_splits() -> Splits:
    """The real splits with a short training split, so each test augments only a few images."""
    splits = load_splits()
    train = splits.train
    short = Split(train.x[:SMALL_TRAIN], train.y[:SMALL_TRAIN], train.indices[:SMALL_TRAIN])
    return Splits(short, splits.validation, splits.test)


@pytest.fixture(scope="module")
def grown(small_splits: Splits) -> Splits:
    return training_splits(small_splits, TrainConfig(augment=True))


def test_only_the_training_split_grows(small_splits: Splits, grown: Splits) -> None:
    assert grown.validation is small_splits.validation
    assert grown.test is small_splits.test
    assert len(grown.train) == SMALL_TRAIN * (1 + AUGMENTED_COPIES)
    assert grown.train.x.shape[1] == INPUT_FEATURES and grown.train.x.dtype == np.float32
    assert np.array_equal(grown.train.x[:SMALL_TRAIN], small_splits.train.x)


def test_copies_keep_the_label_and_source_of_their_original(
    small_splits: Splits, grown: Splits
) -> None:
    copies = slice(SMALL_TRAIN, None)
    expected_labels = np.repeat(small_splits.train.y, AUGMENTED_COPIES)
    expected_sources = np.repeat(small_splits.train.indices, AUGMENTED_COPIES)
    assert np.array_equal(grown.train.y[copies], expected_labels)
    assert np.array_equal(grown.train.indices[copies], expected_sources)
    assert np.array_equal(load_bundled().labels[grown.train.indices], grown.train.y)


def test_copies_are_real_variations_in_range(small_splits: Splits, grown: Splits) -> None:
    copies = grown.train.x[SMALL_TRAIN:].reshape(SMALL_TRAIN, AUGMENTED_COPIES, -1)
    originals = small_splits.train.x[:, None, :]
    distances = np.linalg.norm(copies - originals, axis=2)
    # A variation that vanishes (too faint or too small to read) falls back to its original.
    varied = distances[distances > 0]
    assert varied.size >= 0.95 * distances.size
    assert varied.min() > 0.3 and np.median(varied) > 1.5
    assert grown.train.x.min() >= 0.0 and grown.train.x.max() <= 1.0
    ink_per_copy = copies.sum(axis=2) / originals.sum(axis=2)
    assert ink_per_copy.min() < 0.9 and ink_per_copy.max() > 1.3  # thinner and thicker strokes


def test_augmentation_is_seeded(small_splits: Splits, grown: Splits) -> None:
    again = training_splits(small_splits, TrainConfig(augment=True))
    other_seed = training_splits(small_splits, TrainConfig(augment=True, seed=99))
    assert np.array_equal(again.train.x, grown.train.x)
    assert not np.array_equal(other_seed.train.x, grown.train.x)


def test_a_split_from_another_dataset_is_refused(small_splits: Splits) -> None:
    train = small_splits.train
    flipped = Split(train.x, 1.0 - train.y, train.indices)
    with pytest.raises(ValueError, match="does not index"):
        Augmentation(Splits(flipped, small_splits.validation, small_splits.test), TrainConfig())


def testrank_filter_thickens_and_thins_a_stroke_by_its_size() -> None:
    ink = np.zeros((40, 40), dtype=np.float32)
    ink[5:35, 18:23] = 1.0
    assert rank_filter(ink, 5, np.maximum)[20].sum() == 5 + 4
    assert rank_filter(ink, 3, np.minimum)[20].sum() == 5 - 2


def test_a_redrawn_digit_stays_whole_on_its_large_canvas() -> None:
    image = load_bundled().images[0]
    rng = np.random.default_rng(0)
    for _ in range(10):
        ink = drawn_large(image, 0, rng)
        edges = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
        assert edges.max() == 0.0  # rotations and shears never push ink off the canvas
        row, column = centre_of_mass(ink)
        assert abs(row - ink.shape[0] / 2) < ink.shape[0] / 4
        assert abs(column - ink.shape[1] / 2) < ink.shape[1] / 4
