"""The "class" dataset: drawings validated, split by drawing per seed, added to the bundled splits."""

from __future__ import annotations

import numpy as np
import pytest

from model.augment import AUGMENTED_COPIES
from model.class_data import (
    MIN_CLASS_DRAWINGS,
    ClassDrawings,
    class_dataset,
    class_split,
    drawings_28,
    with_class_drawings,
)
from model.config import ConfigError, TrainConfig
from model.cost import TRAIN_IMAGES, train_images
from model.data import (
    CLASS_DRAWINGS_MISSING,
    DatasetUnavailable,
    Split,
    Splits,
    load_bundled,
    load_dataset,
)
from model.data import load_splits as load_data_splits
from model.training import prepare_splits
from model.training_data import flipped_sources


def drawings(count: int = 10, seed: int = 0) -> ClassDrawings:
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    return ClassDrawings.checked(rng.random((count, 400), dtype=np.float32), labels)


@pytest.fixture(scope="module")
def bundled():
    return load_data_splits("bundled")


def test_a_class_config_is_valid_and_round_trips_as_json() -> None:
    config = TrainConfig(dataset="class")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError):
        TrainConfig(dataset="our class")


@pytest.mark.parametrize("count", [4, 5, 10, 11, 33])
def test_ceil_of_thirty_percent_goes_to_test_and_every_drawing_lands_once(count) -> None:
    train_at, test_at = class_split(count, seed=3)
    assert len(test_at) == -(-count * 3 // 10)
    assert sorted([*train_at, *test_at]) == list(range(count))


def test_the_split_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    first, again = class_split(20, 1), class_split(20, 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = class_split(20, 2)
    assert not np.array_equal(np.sort(first[1]), np.sort(other[1]))


def test_the_drawings_join_the_bundled_training_and_test_splits(bundled) -> None:
    class_drawings = drawings(10)
    splits = with_class_drawings(bundled, class_drawings, seed=5)
    assert splits.sizes() == {"train": 700 + 7, "validation": 150, "test": 150 + 3}
    assert splits.validation is bundled.validation
    for name in ("train", "test"):
        part, base = getattr(splits, name), getattr(bundled, name)
        np.testing.assert_array_equal(part.x[: len(base)], base.x)
        assert part.x.dtype == np.float32 and part.y.dtype == base.y.dtype
    # Each drawing is in exactly one split, under the index after the bundled images.
    added = np.concatenate([splits.train.indices[700:], splits.test.indices[150:]]) - 1000
    assert sorted(added) == list(range(10))
    for part in (splits.train, splits.test):
        for row, label, index in zip(part.x, part.y, part.indices, strict=True):
            if index >= 1000:
                np.testing.assert_array_equal(row, class_drawings.images[index - 1000])
                assert label == class_drawings.labels[index - 1000]
    again = with_class_drawings(bundled, class_drawings, seed=5)
    np.testing.assert_array_equal(again.test.indices, splits.test.indices)
    np.testing.assert_array_equal(again.train.x, splits.train.x)
    other = with_class_drawings(bundled, class_drawings, seed=6)
    assert set(other.test.indices[150:]) != set(splits.test.indices[150:])


def test_data_settings_apply_to_the_combined_training_split(bundled) -> None:
    config = TrainConfig(dataset="class", label_noise=0.2, input_noise=0.1, seed=5)
    combined = with_class_drawings(bundled, drawings(10), config.seed)
    prepared = prepare_splits(config, combined)
    assert prepared.test is combined.test and prepared.validation is combined.validation
    np.testing.assert_array_equal(prepared.train.indices, combined.train.indices)
    # Labels are flipped among all 707 originals, the class's drawings included.
    sources = flipped_sources(combined.train, config.label_noise, config.seed)
    assert len(sources) == round(0.2 * 707)
    flipped = np.isin(combined.train.indices, sources)
    np.testing.assert_array_equal(prepared.train.y != combined.train.y, flipped)
    assert not np.array_equal(prepared.train.x, combined.train.x)
    sampled = prepare_splits(config.with_changes(train_size=100), combined)
    assert len(sampled.train) == 100
    assert np.isin(sampled.train.indices, combined.train.indices).all()


def test_augmentation_redraws_the_class_drawings_from_their_pixels(bundled) -> None:
    class_drawings = drawings(4)
    config = TrainConfig(dataset="class", augment=True, seed=2)
    # Six bundled training images keep the Pillow work small; the indices stay the bundled ones.
    base = Splits(
        Split(bundled.train.x[:6], bundled.train.y[:6], bundled.train.indices[:6]),
        bundled.validation,
        bundled.test,
    )
    combined = with_class_drawings(base, class_drawings, config.seed)
    source = class_dataset(load_bundled(), class_drawings)
    assert len(source.images) == 1004 and source.images.dtype == np.uint8
    np.testing.assert_array_equal(source.labels[1000:], class_drawings.labels)
    prepared = prepare_splits(config, combined, source)
    assert len(prepared.train) == 8 * (1 + AUGMENTED_COPIES)
    copies = prepared.train.indices == combined.train.indices[-1]
    assert combined.train.indices[-1] >= 1000 and copies.sum() == 1 + AUGMENTED_COPIES
    assert len(np.unique(prepared.train.x[copies], axis=0)) > 1


def test_augmenting_without_the_drawings_says_so(bundled) -> None:
    combined = with_class_drawings(bundled, drawings(4), 2)
    with pytest.raises(DatasetUnavailable, match="none were sent"):
        prepare_splits(TrainConfig(dataset="class", augment=True, train_size=10), combined)
    with pytest.raises(DatasetUnavailable, match="none were sent"):
        load_dataset("class")
    assert "none were sent" in CLASS_DRAWINGS_MISSING


def test_drawings_go_back_to_28_pixels_keeping_their_ink() -> None:
    image = np.zeros((20, 20), np.float32)
    image[4:16, 9:11] = 1.0
    frames = drawings_28(
        ClassDrawings.checked(np.stack([image, image, 1 - image, image]), [1, 1, 0, 0])
    )
    assert frames.shape == (4, 28, 28) and frames.dtype == np.uint8
    assert frames[0, 14, 14] > 200 and frames[0, 14, 3] == 0 and frames[2, 14, 3] == 255


def test_the_cost_estimate_counts_the_bundled_training_images() -> None:
    assert train_images(TrainConfig(dataset="class")) == TRAIN_IMAGES["bundled"]


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((6, 399), np.float32), np.array([0, 1] * 3), "n×400"),
        (np.zeros((6, 400), np.float64), np.array([0, 1] * 3), "float32"),
        (np.full((6, 400), np.nan, np.float32), np.array([0, 1] * 3), "NaN"),
        (np.full((6, 400), 1.5, np.float32), np.array([0, 1] * 3), "between 0 and 1"),
        (np.full((6, 400), -0.1, np.float32), np.array([0, 1] * 3), "between 0 and 1"),
        (np.zeros((6, 400), np.float32), np.array([0, 1] * 2), "one label per image"),
        (np.zeros((6, 400), np.float32), np.array([0, 1, 2] * 2), "0 or 1"),
        (np.zeros((6, 400), np.float32), np.array(["0", "1"] * 3), "numbers"),
        (np.zeros((3, 400), np.float32), np.array([0, 1, 0]), f"at least {MIN_CLASS_DRAWINGS}"),
        (np.zeros((6, 400), np.float32), np.ones(6, int), "all 1s: draw some 0s"),
    ],
)
def test_bad_drawings_are_refused_saying_why(images, labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        ClassDrawings.checked(images, labels)


def test_20_by_20_images_are_accepted_as_rows_and_frozen() -> None:
    class_drawings = ClassDrawings.checked(np.zeros((4, 20, 20), np.float32), [0, 1, 0, 1])
    assert class_drawings.images.shape == (4, 400) and len(class_drawings) == 4
    assert not class_drawings.images.flags.writeable
    with pytest.raises(ValueError):
        class_drawings.images[0, 0] = 1.0


def test_the_digest_is_stable_and_changes_with_any_pixel_or_label() -> None:
    base = drawings(6)
    assert base.digest() == drawings(6).digest() and len(base.digest()) == 64
    pixels = base.images.copy()
    pixels[3, 17] = 0.5 if pixels[3, 17] != 0.5 else 0.25
    assert ClassDrawings.checked(pixels, base.labels).digest() != base.digest()
    labels = base.labels.copy()
    labels[0] = 1 - labels[0]
    assert ClassDrawings.checked(base.images, labels).digest() != base.digest()
    assert drawings(6, seed=1).digest() != base.digest()
