"""The training split a run learns from: sampled, augmented and corrupted as its config asks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.config import TrainConfig
from model.data import Dataset, Split, Splits

# Random streams of their own, so that changing one data setting leaves the others' draws alone.
SAMPLE_STREAM = 11
LABEL_NOISE_STREAM = 12
INPUT_NOISE_STREAM = 13


def stratified_sample(train: Split, size: int, seed: int) -> Split:
    """`size` training images with the classes in the split's proportions (each class kept)."""
    if size >= len(train):
        return train
    rng = np.random.default_rng([seed, SAMPLE_STREAM])
    classes, counts = np.unique(train.y, return_counts=True)
    shares = np.maximum(1, np.round(size * counts / counts.sum()).astype(int))
    # Rounding can overshoot by one: take it from the largest class.
    shares[np.argmax(shares)] -= shares.sum() - size
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(train.y == label), share, replace=False)
            for label, share in zip(classes, shares, strict=True)
        ]
    )
    chosen = rng.permutation(chosen)
    return Split(train.x[chosen], train.y[chosen], train.indices[chosen])


def flipped_sources(train: Split, share: float, seed: int) -> np.ndarray:
    """The dataset indices of the originals whose label is flipped (augmented copies follow)."""
    sources = np.unique(train.indices)
    count = round(share * len(sources))
    rng = np.random.default_rng([seed, LABEL_NOISE_STREAM])
    return np.sort(rng.choice(sources, count, replace=False))


def with_label_noise(train: Split, share: float, seed: int) -> Split:
    flipped = np.isin(train.indices, flipped_sources(train, share, seed))
    labels = np.where(flipped, 1.0 - train.y, train.y).astype(train.y.dtype)
    return Split(train.x, labels, train.indices)


def with_input_noise(train: Split, std: float, seed: int) -> Split:
    rng = np.random.default_rng([seed, INPUT_NOISE_STREAM])
    noisy = train.x + rng.normal(0.0, std, train.x.shape).astype(np.float32)
    return Split(np.clip(noisy, 0.0, 1.0).astype(np.float32), train.y, train.indices)


class Preparation:
    """A run's training split in the making: sample, augment, flip labels, add pixel noise.

    Only the augmentation takes long (seconds of Pillow): `advance` can stop between images
    and go on later, for a worker that is asked for its process back meanwhile.
    """

    def __init__(self, splits: Splits, config: TrainConfig, source: Dataset | None = None) -> None:
        self._splits, self._config = splits, config
        train = splits.train
        if config.train_size is not None:
            train = stratified_sample(train, config.train_size, config.seed)
        self._sampled = train
        self._augmentation = None
        if config.augment:
            from model.augment import Augmentation

            self._augmentation = Augmentation(
                Splits(train, splits.validation, splits.test), config, source
            )

    def advance(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Make the training split until it is made (True) or `should_stop()` turns true first
        (False: call again to go on)."""
        return self._augmentation is None or self._augmentation.advance(should_stop)

    def splits(self) -> Splits:
        """The splits the run trains on (`advance` must have returned True)."""
        config, splits, train = self._config, self._splits, self._sampled
        if self._augmentation is not None:
            train = self._augmentation.train()
        if config.label_noise > 0:
            train = with_label_noise(train, config.label_noise, config.seed)
        if config.input_noise > 0:
            train = with_input_noise(train, config.input_noise, config.seed)
        if train is splits.train:
            return splits
        return Splits(train, splits.validation, splits.test)


def training_splits(splits: Splits, config: TrainConfig, source: Dataset | None = None) -> Splits:
    """Sample, then augment, then flip labels, then add pixel noise; only the training split.

    Labels are flipped per original image, so a wrong label is wrong on all of its copies,
    as it would be if the person labelling the data had made the mistake.
    `source` is the raw images augmentation redraws (see `model.augment.Augmentation`).
    """
    preparation = Preparation(splits, config, source)
    preparation.advance()
    return preparation.splits()
