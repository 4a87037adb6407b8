"""Data settings: a stratified seeded sample, flipped labels and pixel noise, on the training split only."""

from __future__ import annotations

import numpy as np
import pytest

from model.config import TrainConfig
from model.data import Splits, load_splits
from model.training_data import flipped_sources, training_splits


@pytest.fixture(scope="module")
def splits() -> Splits:
    return load_splits()


def test_the_lessons_settings_leave_the_splits_alone(splits: Splits) -> None:
    assert training_splits(splits, TrainConfig()) is splits


@pytest.mark.parametrize("size", [10, 11, 101, 700])
def test_a_sample_is_stratified_seeded_and_drawn_from_the_training_split(
    splits: Splits, size: int
) -> None:
    sampled = training_splits(splits, TrainConfig(train_size=size)).train
    assert len(sampled) == size
    assert abs(int(sampled.y.sum()) - size * float(splits.train.y.mean())) <= 1
    assert set(sampled.indices) <= set(splits.train.indices)
    again = training_splits(splits, TrainConfig(train_size=size)).train
    assert np.array_equal(again.indices, sampled.indices)
    if size < len(splits.train):
        other = training_splits(splits, TrainConfig(train_size=size, seed=5)).train
        assert not np.array_equal(np.sort(other.indices), np.sort(sampled.indices))


def test_label_noise_flips_that_share_of_the_training_labels_only(splits: Splits) -> None:
    noisy = training_splits(splits, TrainConfig(label_noise=0.3))
    flipped = noisy.train.y != splits.train.y
    assert flipped.sum() == round(0.3 * len(splits.train))
    assert np.array_equal(noisy.train.x, splits.train.x)
    assert noisy.validation is splits.validation and noisy.test is splits.test


def test_a_flipped_original_is_wrong_on_all_of_its_augmented_copies(splits: Splits) -> None:
    config = TrainConfig(train_size=10, label_noise=0.4, augment=True)
    noisy = training_splits(splits, config).train
    clean = training_splits(splits, config.with_changes(label_noise=0.0)).train
    flipped = set(flipped_sources(clean, 0.4, config.seed))
    assert len(flipped) == 4
    wrong = noisy.y != clean.y
    assert np.array_equal(wrong, np.isin(noisy.indices, list(flipped)))


def test_input_noise_is_gaussian_clipped_and_only_on_training_images(splits: Splits) -> None:
    noisy = training_splits(splits, TrainConfig(input_noise=0.3))
    difference = noisy.train.x - splits.train.x
    assert noisy.train.x.min() >= 0.0 and noisy.train.x.max() <= 1.0
    inside = (splits.train.x > 0.2) & (splits.train.x < 0.8)
    assert 0.2 < float(difference[inside].std()) < 0.35
    assert np.array_equal(noisy.train.y, splits.train.y)
    assert noisy.validation is splits.validation and noisy.test is splits.test
