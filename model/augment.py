"""Seeded variations of the training images like real handwriting, drawings and scans."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from model.config import TrainConfig
from model.data import MNIST_SIDE, Dataset, Split, Splits, load_dataset, resize_to_input
from model.distort import (
    blurred,
    broken,
    canvas_ink,
    elastic,
    flagged,
    on_paper,
    reshaped,
    restroked,
    scanned,
)
from model.preprocess import place_in_frame, preprocess_ink
from model.uploads import ink_from_photo

AUGMENTED_COPIES = 24
MAX_ROTATION_DEGREES = 20.0
MAX_SHEAR = 0.5
# Sideways squeeze or stretch, drawn log-uniformly: narrow 0s are a classic misreading.
ASPECT_RANGE = (0.4, 1.8)
# A 0 thickened so far that its hole fills in is a blob, not a 0: it only teaches the
# network that thick strokes mean 0.
MAX_ZERO_THICKENING = 4
# Rank-filter sizes on the large canvas: negative thins, 0 keeps, positive thickens (by up
# to 3 pixels at MNIST's scale).
THICKNESS_FILTERS = (-4, -3, -2, 0, 0, 2, 3, 4, 5, 6, 7)
# Many people write a 1 with a flag at the top, some with a base too; MNIST has few of them.
FLAG_PROBABILITY = 0.45
BASE_PROBABILITY = 0.4
FLAG_RANGE = (0.15, 0.65)
FLAG_ANGLE_RANGE = (10.0, 60.0)
BASE_RANGE = (0.3, 0.9)
# The commonest misreading of real 0s: narrow, thin, sometimes broken, taken for a 1.
NARROW_ZERO_PROBABILITY = 0.45
NARROW_THINNING = (-4, -3, -2, 0)
NARROW_BROKEN_PROBABILITY = 0.2
NARROW_ASPECT_RANGE = (0.4, 0.65)
ELASTIC_PROBABILITY = 0.3
ELASTIC_RANGE = (0.02, 0.08)
BROKEN_PROBABILITY = {0: 0.3, 1: 0.4}
# A 1 stays a 1 however dotted; a 0 cut too often falls apart into pieces of a 1.
MAX_GAPS = {0: 3, 1: 4}
GAP_RANGE = {0: (0.8, 1.5), 1: (0.8, 2.0)}
BLUR_PROBABILITY = 0.2
BLUR_RANGE = (1.0, 4.5)
# A pen on a canvas has hard edges; some copies are thresholded to look like one.
HARD_EDGE_PROBABILITY = 0.3
# Half the copies are scanned or photographed: a coarse grid of pixels, paper and noise, read
# back the way the Draw page reads an upload.
SCAN_PROBABILITY = 0.5
SCAN_SIDE_RANGE = (28, 96)
PAPER_NOISE_RANGE = (0.0, 0.1)
MAX_SHADE = 0.08
# What the crop-and-centre steps leave over: small shifts and scalings in the 28×28 frame.
MAX_SHIFT = 1.5
SCALE_RANGE = (0.85, 1.1)
# Keeps the augmentation's random stream apart from the ones that shuffle and initialise.
AUGMENT_STREAM = 7


def drawn_large(image28: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """One 28×28 uint8 digit redrawn on a large canvas the way someone else might write it."""
    ink = canvas_ink(image28)
    if label == 1 and rng.random() < FLAG_PROBABILITY:
        base = rng.uniform(*BASE_RANGE) if rng.random() < BASE_PROBABILITY else 0.0
        ink = flagged(
            ink, flag=rng.uniform(*FLAG_RANGE), angle=rng.uniform(*FLAG_ANGLE_RANGE), base=base
        )
    aspect = float(np.exp(rng.uniform(*np.log(ASPECT_RANGE))))
    thickness, broken_probability = int(rng.choice(THICKNESS_FILTERS)), BROKEN_PROBABILITY[label]
    if label == 0:
        thickness = min(thickness, MAX_ZERO_THICKENING)
    if label == 0 and rng.random() < NARROW_ZERO_PROBABILITY:
        aspect = rng.uniform(*NARROW_ASPECT_RANGE)
        thickness = int(rng.choice(NARROW_THINNING))
        broken_probability = NARROW_BROKEN_PROBABILITY
    ink = reshaped(
        ink,
        degrees=rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES),
        shear=rng.uniform(-MAX_SHEAR, MAX_SHEAR),
        aspect=aspect,
    )
    if rng.random() < ELASTIC_PROBABILITY:
        ink = elastic(ink, rng, rng.uniform(*ELASTIC_RANGE))
    ink = restroked(ink, thickness)
    if rng.random() < broken_probability:
        gaps = int(rng.integers(1, MAX_GAPS[label] + 1))
        ink = broken(ink, rng, gaps, rng.uniform(*GAP_RANGE[label]))
    if rng.random() < BLUR_PROBABILITY:
        ink = blurred(ink, rng.uniform(*BLUR_RANGE))
    if rng.random() < HARD_EDGE_PROBABILITY:
        ink = (ink >= 0.5).astype(np.float32)
    return ink


def as_seen(ink: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """The ink as the pipeline receives it (a canvas's or a paper scan's), and if it was scanned.

    A scanned copy is read as the Draw page reads an upload (`preprocess_ink(upload=True)`).
    """
    if rng.random() >= SCAN_PROBABILITY:
        return ink, False
    small = scanned(ink, int(rng.integers(SCAN_SIDE_RANGE[0], SCAN_SIDE_RANGE[1] + 1)))
    gray = on_paper(small, rng, rng.uniform(*PAPER_NOISE_RANGE), rng.uniform(0, MAX_SHADE))
    return ink_from_photo(np.round(gray * 255) / 255)[0], True


def _jittered(framed: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    scale = rng.uniform(*SCALE_RANGE)
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=2)
    inverse = 1.0 / scale
    centre = MNIST_SIDE / 2
    data = (
        inverse,
        0.0,
        centre - inverse * (centre + shift[0]),
        0.0,
        inverse,
        centre - inverse * (centre + shift[1]),
    )
    image = Image.fromarray(framed.astype(np.float32)).transform(
        (MNIST_SIDE, MNIST_SIDE), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR
    )
    return np.asarray(image, dtype=np.float32)


def augmented_features(
    image28: np.ndarray, label: int, rng: np.random.Generator
) -> np.ndarray | None:
    """400 features of one variation, made the way a drawing is; None if the variation vanished."""
    ink, from_scan = as_seen(drawn_large(image28, label, rng), rng)
    steps = preprocess_ink(ink, upload=from_scan)
    if steps.fitted is None:
        return None
    framed = place_in_frame(steps.fitted, centre=True)
    network_input = np.clip(resize_to_input(_jittered(framed, rng)), 0.0, 1.0)
    return network_input.reshape(-1).astype(np.float32)


class Augmentation:
    """A training split plus AUGMENTED_COPIES variations of each image, made an original at a time.

    Copies go through the same crop, fit and centre-of-mass steps as a canvas drawing or an
    uploaded scan, so what the network learns to tolerate is what those steps leave over.
    `source` holds the 28×28 images the split's indices point at (default: the config's
    dataset; the "class" dataset has no file, so its caller passes one). Making them takes
    seconds (3 ms a copy): a worker asked for its process back stops between originals and
    goes on later with the same random stream, so the copies are the ones a single pass makes.
    """

    def __init__(self, splits: Splits, config: TrainConfig, source: Dataset | None = None) -> None:
        dataset = load_dataset(config.dataset) if source is None else source
        train = splits.train
        if not np.array_equal(dataset.labels[train.indices], train.y.astype(np.uint8)):
            raise ValueError("the training split does not index the dataset it claims to come from")
        self._dataset, self._train = dataset, train
        self._rng = np.random.default_rng([config.seed, AUGMENT_STREAM])
        self._rows, self._labels, self._indices = [train.x], [train.y], [train.indices]
        self._next = 0

    @property
    def done(self) -> bool:
        return self._next == len(self._train)

    def advance(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Make copies until all are made (True) or `should_stop()`, asked after each original's
        copies, turns true (False: call again to go on)."""
        train = self._train
        while not self.done:
            index, label, original = (
                train.indices[self._next],
                train.y[self._next],
                train.x[self._next],
            )
            for _ in range(AUGMENTED_COPIES):
                features = augmented_features(self._dataset.images[index], int(label), self._rng)
                self._rows.append((original if features is None else features)[None, :])
                self._labels.append(np.array([label], dtype=train.y.dtype))
                self._indices.append(np.array([index], dtype=train.indices.dtype))
            self._next += 1
            if should_stop is not None and not self.done and should_stop():
                return False
        return True

    def train(self) -> Split:
        """The training split with its copies (all of them: `advance` must have returned True)."""
        if not self.done:
            raise RuntimeError("the augmented copies are not all made yet")
        return Split(
            np.concatenate(self._rows).astype(np.float32),
            np.concatenate(self._labels),
            np.concatenate(self._indices),
        )
