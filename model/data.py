"""The handwritten 0s and 1s: loading, the 28→20 resize, and the seeded train/validation/test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from model.config import INPUT_SIDE

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
BUNDLED_DATASET = ASSETS_DIR / "mnist01.npz"
MNIST_SIDE = 28
SPLIT_FRACTIONS = (0.7, 0.15, 0.15)
DEFAULT_SPLIT_SEED = 0
SPLIT_NAMES = ("train", "validation", "test")


# The "class" dataset's drawings come with the job, not from a file (see `model.class_data`).
CLASS_DRAWINGS_MISSING = "This run trains on the class's drawings, but none were sent."


class DatasetUnavailable(RuntimeError):
    """The requested dataset cannot be loaded (offline, missing or corrupt file)."""


@dataclass(frozen=True)
class Dataset:
    """Raw MNIST-style images (N×28×28 uint8, white on black) and their 0/1 labels."""

    images: np.ndarray
    labels: np.ndarray
    name: str


@dataclass(frozen=True)
class Split:
    """One part of the data as the network sees it: N×400 float32 in [0, 1] and N labels."""

    x: np.ndarray
    y: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Splits:
    train: Split
    validation: Split
    test: Split

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_NAMES}


def resize_to_input(image28: np.ndarray) -> np.ndarray:
    """Area-average a 28×28 image (any range) down to the network's 20×20, keeping its range.

    The dataset and the drawing pipeline both go through this one function, so a
    drawing is downsampled exactly like the training images.
    """
    frame = np.asarray(image28, dtype=np.float32)
    if frame.shape != (MNIST_SIDE, MNIST_SIDE):
        raise ValueError(f"expected a 28×28 image, got shape {frame.shape}")
    resized = Image.fromarray(frame).resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32)


def to_features(images28: np.ndarray) -> np.ndarray:
    """uint8 28×28 images → float32 rows of 400 features in [0, 1]."""
    scaled = np.asarray(images28, dtype=np.float32) / 255.0
    resized = [resize_to_input(image) for image in scaled]
    return np.clip(np.stack(resized).reshape(len(resized), -1), 0.0, 1.0).astype(np.float32)


def _validated(images: np.ndarray, labels: np.ndarray, name: str) -> Dataset:
    if images.ndim != 3 or images.shape[1:] != (MNIST_SIDE, MNIST_SIDE):
        raise DatasetUnavailable(f"{name}: images must be N×28×28, got {images.shape}")
    if labels.shape != (images.shape[0],) or not np.isin(labels, (0, 1)).all():
        raise DatasetUnavailable(f"{name}: labels must be one 0 or 1 per image")
    return Dataset(images.astype(np.uint8), labels.astype(np.uint8), name)


def load_bundled(path: Path = BUNDLED_DATASET) -> Dataset:
    """The 1,000 shipped images; never touches the network."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError) as error:
        raise DatasetUnavailable(f"cannot read the bundled dataset {path}: {error}") from error
    return _validated(images, labels, "bundled")


def load_full_mnist() -> Dataset:
    """All MNIST 0s and 1s (about 14,800) via Keras's downloader; needs the internet once."""
    try:
        from keras.datasets import mnist

        (train_x, train_y), (test_x, test_y) = mnist.load_data()
    except Exception as error:  # the downloader raises many types: URL, OS, HTTP, zip
        raise DatasetUnavailable(
            "the full MNIST dataset could not be downloaded (are you offline?); "
            "the bundled 1,000 images stay in use"
        ) from error
    images = np.concatenate([train_x, test_x])
    labels = np.concatenate([train_y, test_y])
    keep = labels <= 1
    return _validated(images[keep], labels[keep], "mnist")


def load_dataset(name: str) -> Dataset:
    if name == "bundled":
        return load_bundled()
    if name == "mnist":
        return load_full_mnist()
    if name == "class":
        raise DatasetUnavailable(CLASS_DRAWINGS_MISSING)
    raise DatasetUnavailable(f"unknown dataset {name!r}")


def split_indices(labels: np.ndarray, seed: int = DEFAULT_SPLIT_SEED) -> dict[str, np.ndarray]:
    """Stratified, seeded indices: each split keeps the classes' proportions."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLIT_NAMES}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(len(members) * SPLIT_FRACTIONS[0])
        n_validation = round(len(members) * SPLIT_FRACTIONS[1])
        parts["train"].append(members[:n_train])
        parts["validation"].append(members[n_train : n_train + n_validation])
        parts["test"].append(members[n_train + n_validation :])
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def make_splits(dataset: Dataset, seed: int = DEFAULT_SPLIT_SEED) -> Splits:
    features = to_features(dataset.images)
    labels = dataset.labels.astype(np.float32)
    chosen = split_indices(dataset.labels, seed)
    return Splits(**{name: Split(features[idx], labels[idx], idx) for name, idx in chosen.items()})


def load_splits(name: str = "bundled", seed: int = DEFAULT_SPLIT_SEED) -> Splits:
    return make_splits(load_dataset(name), seed)


def read_only(splits: Splits) -> Splits:
    """Freeze the arrays so one copy can be shared by every session without defensive copies."""
    for name in SPLIT_NAMES:
        part = getattr(splits, name)
        for array in (part.x, part.y, part.indices):
            array.flags.writeable = False
    return splits
