"""Seeded, canvas-like variations of the training images, so the network copes with real drawings."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from model.config import TrainConfig
from model.data import MNIST_SIDE, Split, Splits, load_dataset, resize_to_input
from model.preprocess import place_in_frame, preprocess_ink, rank_filter

AUGMENTED_COPIES = 4
# Each copy is drawn large (like a canvas) with room around it so rotations never clip.
DRAW_SCALE = 4
DRAW_SIDE = 2 * MNIST_SIDE * DRAW_SCALE
MAX_ROTATION_DEGREES = 20.0
MAX_SHEAR = 0.3
ASPECT_RANGE = (0.7, 1.35)
# Odd filter sizes at the large scale: -3 thins, 0 keeps, 3..9 thicken (by up to 2 px at 28).
THICKNESS_FILTERS = (-3, 0, 0, 3, 5, 7, 9)
# A pen on a canvas has hard edges; half the copies are thresholded to look like one.
HARD_EDGE_PROBABILITY = 0.5
# What the crop-and-centre steps leave over: small shifts and scalings in the 28×28 frame.
MAX_SHIFT = 1.5
SCALE_RANGE = (0.85, 1.1)
# Keeps the augmentation's random stream apart from the ones that shuffle and initialise.
AUGMENT_STREAM = 7


def _affine(image: Image.Image, matrix: np.ndarray, side: int) -> Image.Image:
    """Apply a forward 2×2 matrix about the image centre (Pillow wants the inverse map)."""
    inverse = np.linalg.inv(matrix)
    centre = (side - 1) / 2
    offset = centre - inverse @ np.array([centre, centre])
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    return image.transform((side, side), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)


def drawn_large(image28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 28×28 uint8 digit redrawn on a large canvas: slanted, reshaped, thicker or thinner."""
    large = Image.fromarray(np.asarray(image28, dtype=np.uint8)).resize(
        (MNIST_SIDE * DRAW_SCALE,) * 2, Image.Resampling.BILINEAR
    )
    canvas = Image.new("L", (DRAW_SIDE, DRAW_SIDE))
    margin = (DRAW_SIDE - large.width) // 2
    canvas.paste(large, (margin, margin))
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, rng.uniform(-MAX_SHEAR, MAX_SHEAR)], [0.0, 1.0]])
    aspect = np.diag([rng.uniform(*ASPECT_RANGE), 1.0])
    canvas = _affine(canvas, rotation @ shear @ aspect, DRAW_SIDE)
    ink = np.asarray(canvas, dtype=np.float32) / 255.0
    thickness = int(rng.choice(THICKNESS_FILTERS))
    if thickness > 0:
        ink = rank_filter(ink, thickness, np.maximum)
    elif thickness < 0:
        ink = rank_filter(ink, -thickness, np.minimum)
    if rng.random() < HARD_EDGE_PROBABILITY:
        ink = (ink >= 0.5).astype(np.float32)
    return ink


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


def augmented_features(image28: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """400 features of one variation, made the way a drawing is; None if the variation vanished."""
    steps = preprocess_ink(drawn_large(image28, rng))
    if steps.fitted is None:
        return None
    framed = place_in_frame(steps.fitted, centre=True)
    network_input = np.clip(resize_to_input(_jittered(framed, rng)), 0.0, 1.0)
    return network_input.reshape(-1).astype(np.float32)


def augmented(splits: Splits, config: TrainConfig) -> Splits:
    """The training split plus AUGMENTED_COPIES variations of each image; the rest untouched.

    Copies go through the same crop, fit and centre-of-mass steps as a canvas drawing, so
    what the network learns to tolerate is exactly what those steps leave over.
    """
    dataset = load_dataset(config.dataset)
    train = splits.train
    if not np.array_equal(dataset.labels[train.indices], train.y.astype(np.uint8)):
        raise ValueError("the training split does not index the dataset it claims to come from")
    rng = np.random.default_rng([config.seed, AUGMENT_STREAM])
    rows, labels, indices = [train.x], [train.y], [train.indices]
    for index, label, original in zip(train.indices, train.y, train.x, strict=True):
        for _ in range(AUGMENTED_COPIES):
            features = augmented_features(dataset.images[index], rng)
            rows.append((original if features is None else features)[None, :])
            labels.append(np.array([label], dtype=train.y.dtype))
            indices.append(np.array([index], dtype=train.indices.dtype))
    augmented_train = Split(
        np.concatenate(rows).astype(np.float32),
        np.concatenate(labels),
        np.concatenate(indices),
    )
    return Splits(augmented_train, splits.validation, splits.test)
