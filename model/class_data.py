"""The "class" dataset: the bundled splits plus a class's own drawings, split by drawing."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from model.config import INPUT_FEATURES, INPUT_SIDE
from model.data import MNIST_SIDE, Dataset, Split, Splits

CLASS_TEST_FRACTION = 0.3
# One of each digit, and enough that both the training and the test split get some.
MIN_CLASS_DRAWINGS = 4
# Keeps the class split's random stream apart from the run's other seeded draws.
CLASS_SPLIT_STREAM = 21


@dataclass(frozen=True)
class ClassDrawings:
    """A class's approved drawings as the network sees them: n×400 float32 in [0, 1], n 0/1 labels.

    Build it with `checked`, which validates and normalises the arrays; the arrays are read-only
    so the digest stays the drawings' own.
    """

    images: np.ndarray
    labels: np.ndarray

    @classmethod
    def checked(cls, images: np.ndarray, labels: np.ndarray) -> ClassDrawings:
        """Validate the drawings (ValueError saying what is wrong) and freeze copies of them."""
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 3 and images.shape[1:] == (INPUT_SIDE, INPUT_SIDE):
            images = images.reshape(len(images), INPUT_FEATURES)
        if images.ndim != 2 or images.shape[1] != INPUT_FEATURES:
            raise ValueError(
                f"class drawings must be n×{INPUT_FEATURES} (or n×{INPUT_SIDE}×{INPUT_SIDE}) "
                f"images, got shape {images.shape}"
            )
        if images.dtype != np.float32:
            raise ValueError(f"class drawings must be float32 pixels, got {images.dtype}")
        if not np.isfinite(images).all():
            raise ValueError("class drawings contain NaN or infinite pixels")
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ValueError("class drawings' pixels must be between 0 and 1")
        if labels.shape != (len(images),):
            raise ValueError(
                f"class drawings need one label per image: {len(images)} images, "
                f"labels of shape {labels.shape}"
            )
        if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.number):
            raise ValueError(f"class drawings' labels must be numbers 0 or 1, got {labels.dtype}")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("class drawings' labels must each be 0 or 1")
        if len(images) < MIN_CLASS_DRAWINGS:
            raise ValueError(
                f"training on the class's drawings needs at least {MIN_CLASS_DRAWINGS} of them, "
                f"got {len(images)}"
            )
        if len(np.unique(labels)) < 2:
            raise ValueError(
                f"the class's drawings are all {int(labels[0])}s: draw some "
                f"{1 - int(labels[0])}s too"
            )
        frozen_images = np.ascontiguousarray(images, dtype=np.float32).copy()
        frozen_labels = labels.astype(np.int64)
        frozen_images.flags.writeable = False
        frozen_labels.flags.writeable = False
        return cls(frozen_images, frozen_labels)

    def __len__(self) -> int:
        return len(self.labels)

    def digest(self) -> str:
        """sha256 of the pixels and labels (shapes included): the drawings' cache key."""
        hasher = hashlib.sha256()
        hasher.update(np.asarray(self.images.shape, dtype=np.int64).tobytes())
        hasher.update(np.ascontiguousarray(self.images, dtype="<f4").tobytes())
        hasher.update(np.ascontiguousarray(self.labels, dtype="<i8").tobytes())
        return hasher.hexdigest()


def class_split(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the drawings for (train, test): a seeded permutation, ceil(30 %) to test."""
    n_test = min(count - 1, max(1, math.ceil(round(count * CLASS_TEST_FRACTION, 9))))
    order = np.random.default_rng([seed, CLASS_SPLIT_STREAM]).permutation(count)
    return order[n_test:], order[:n_test]


def first_class_index(splits: Splits) -> int:
    """Class drawing i gets dataset index `first_class_index + i`, after every bundled image."""
    return 1 + max(
        int(part.indices.max(initial=-1)) for part in (splits.train, splits.validation, splits.test)
    )


def with_class_drawings(splits: Splits, drawings: ClassDrawings, seed: int) -> Splits:
    """The bundled splits with the class's drawings added to the training and test splits.

    The validation split stays the bundled one: with tens of drawings a third split would
    take drawings from training for a curve that moves by one image at a time, and the
    class sees its own handwriting's difference on the test split, which holds its drawings.
    Drawings are appended after the bundled images, in the permutation's order.
    """
    train_at, test_at = class_split(len(drawings), seed)
    offset = first_class_index(splits)

    def joined(part: Split, chosen: np.ndarray) -> Split:
        return Split(
            np.concatenate([part.x, drawings.images[chosen]]).astype(np.float32),
            np.concatenate([part.y, drawings.labels[chosen].astype(part.y.dtype)]),
            np.concatenate([part.indices, (offset + chosen).astype(part.indices.dtype)]),
        )

    return Splits(joined(splits.train, train_at), splits.validation, joined(splits.test, test_at))


def drawings_28(drawings: ClassDrawings) -> np.ndarray:
    """The drawings back at MNIST's 28×28 uint8, for augmentation to redraw like bundled images.

    A drawing's 20×20 input is a box-downsampled 28×28 frame, so a smooth upsample gives back
    that frame closely enough to redraw on a large canvas.
    """
    # Bilinear weights from the 20 pixel centres to the 28, one matrix applied to both axes.
    centres = np.clip((np.arange(MNIST_SIDE) + 0.5) * INPUT_SIDE / MNIST_SIDE - 0.5, 0, None)
    weights = np.stack(
        [
            np.interp(centres, np.arange(INPUT_SIDE), np.eye(INPUT_SIDE)[i])
            for i in range(INPUT_SIDE)
        ],
        axis=1,
    )
    small = drawings.images.reshape(-1, INPUT_SIDE, INPUT_SIDE).astype(np.float64)
    large = weights @ small @ weights.T
    return np.clip(np.round(large * 255.0), 0, 255).astype(np.uint8)


def class_dataset(bundled: Dataset, drawings: ClassDrawings) -> Dataset:
    """The bundled images then the drawings at 28×28, indexed as `with_class_drawings` does."""
    return Dataset(
        np.concatenate([bundled.images, drawings_28(drawings)]),
        np.concatenate([bundled.labels, drawings.labels.astype(bundled.labels.dtype)]),
        "class",
    )
