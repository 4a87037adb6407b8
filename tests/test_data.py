"""The bundled dataset, the 28→20 resize and the stratified split; the offline failure path."""

from __future__ import annotations

import numpy as np
import pytest

from model import data
from model.data import (
    DatasetUnavailable,
    load_bundled,
    load_splits,
    make_splits,
    resize_to_input,
    to_features,
)


def test_bundled_dataset_is_500_zeros_and_500_ones() -> None:
    dataset = load_bundled()
    assert dataset.images.shape == (1000, 28, 28) and dataset.images.dtype == np.uint8
    assert np.bincount(dataset.labels).tolist() == [500, 500]
    # MNIST: white digit on a black background.
    assert np.median(dataset.images) == 0 and dataset.images.max() == 255


def test_resize_is_area_averaging() -> None:
    image = np.zeros((28, 28), dtype=np.float32)
    image[:14] = 1.0
    resized = resize_to_input(image)
    assert resized.shape == (20, 20)
    assert resized.mean() == pytest.approx(image.mean(), abs=1e-6)
    assert resized[:9].min() == pytest.approx(1.0) and resized[11:].max() == pytest.approx(0.0)
    assert 0.0 < resized[9:11].mean() < 1.0
    with pytest.raises(ValueError, match="28×28"):
        resize_to_input(np.zeros((20, 20)))


def test_features_are_400_floats_in_unit_range() -> None:
    features = to_features(load_bundled().images[:10])
    assert features.shape == (10, 400) and features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 1.0


def test_split_is_seeded_stratified_and_disjoint() -> None:
    splits = load_splits()
    assert splits.sizes() == {"train": 700, "validation": 150, "test": 150}
    for part in (splits.train, splits.validation, splits.test):
        assert part.y.mean() == pytest.approx(0.5)
    indices = [
        set(part.indices.tolist()) for part in (splits.train, splits.validation, splits.test)
    ]
    assert len(indices[0] | indices[1] | indices[2]) == 1000
    again = make_splits(load_bundled())
    assert np.array_equal(again.test.indices, splits.test.indices)
    other = make_splits(load_bundled(), seed=1)
    assert not np.array_equal(other.test.indices, splits.test.indices)


def test_split_features_match_their_source_images() -> None:
    dataset = load_bundled()
    splits = load_splits()
    index = splits.test.indices[3]
    assert np.allclose(splits.test.x[3], to_features(dataset.images[index : index + 1])[0])
    assert splits.test.y[3] == dataset.labels[index]


def test_corrupt_bundled_file_is_a_clear_error(tmp_path) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(DatasetUnavailable, match="cannot read the bundled dataset"):
        load_bundled(broken)


def test_full_mnist_offline_fails_with_a_clear_message(monkeypatch) -> None:
    import keras.datasets.mnist

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DatasetUnavailable, match="bundled 1,000 images stay in use"):
        data.load_dataset("mnist")
