"""Honest answers for a drawing: the prediction, its probability, and when not to trust it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.config import INPUT_FEATURES, INPUT_SIDE
from model.forward import ForwardPass, NetworkWeights, forward
from model.preprocess import Preprocessed, preprocess

# Between these probabilities of "it is a 1" the network is not sure either way.
UNSURE_LOW, UNSURE_HIGH = 0.2, 0.8
# A drawing is "far from the training data" when it is farther from its nearest training
# image than this share of the held-out validation images are from theirs.
NOVELTY_QUANTILE = 0.99
# Distances are measured between images blurred over this radius, so a stroke drawn one
# pixel to the side or a bit thicker still counts as close; a scribble does not.
BLUR_RADIUS = 1

REASON_UNSURE = "unsure"
REASON_UNFAMILIAR = "unfamiliar"
ONLY_ZERO_OR_ONE = (
    "This network can only ever answer 0 or 1: it has no way to say “neither”, so for "
    "anything else it still picks one of the two."
)


def blurred(features: np.ndarray) -> np.ndarray:
    """Rows of 400 features, each 20×20 image averaged over a (2·BLUR_RADIUS+1)² box."""
    images = np.asarray(features, dtype=np.float32).reshape(-1, INPUT_SIDE, INPUT_SIDE)
    size = 2 * BLUR_RADIUS + 1
    padded = np.pad(images, ((0, 0), (BLUR_RADIUS, BLUR_RADIUS), (BLUR_RADIUS, BLUR_RADIUS)))
    total = np.zeros_like(images)
    for row in range(size):
        for column in range(size):
            total += padded[:, row : row + INPUT_SIDE, column : column + INPUT_SIDE]
    return (total / size**2).reshape(len(images), INPUT_FEATURES)


@dataclass(frozen=True)
class TrainingNeighbours:
    """The (blurred) training images, and how far from them a familiar input may be."""

    reference: np.ndarray
    threshold: float

    def __post_init__(self) -> None:
        if self.reference.ndim != 2 or self.reference.shape[1] != INPUT_FEATURES:
            raise ValueError(f"expected N×{INPUT_FEATURES} features, got {self.reference.shape}")

    @classmethod
    def calibrated(cls, train_x: np.ndarray, validation_x: np.ndarray) -> TrainingNeighbours:
        """The threshold is what "as close as real held-out digits get" means for this data."""
        reference = blurred(train_x)
        distances = nearest_distances(reference, blurred(validation_x))
        return cls(reference, float(np.quantile(distances, NOVELTY_QUANTILE)))

    def nearest_distance(self, features: np.ndarray) -> float:
        return float(nearest_distances(self.reference, blurred(features))[0])


def nearest_distances(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row."""
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    squared = (
        (queries**2).sum(axis=1)[:, None]
        - 2.0 * queries @ reference.T
        + (reference**2).sum(axis=1)[None, :]
    )
    return np.sqrt(np.maximum(squared.min(axis=1), 0.0))


@dataclass(frozen=True)
class Answer:
    """What the network says about one input, and whether it deserves trust."""

    probability: float
    digit: int
    nearest_distance: float
    distance_threshold: float
    reasons: tuple[str, ...]
    layers: ForwardPass

    @property
    def uncertain(self) -> bool:
        return bool(self.reasons)

    def explanation(self) -> str:
        """Why the answer is marked uncertain, in the learner's words; empty when it is not."""
        parts = []
        if REASON_UNSURE in self.reasons:
            parts.append(
                f"the probability {self.probability:.2f} is between {UNSURE_LOW} and "
                f"{UNSURE_HIGH}, so the network itself is unsure"
            )
        if REASON_UNFAMILIAR in self.reasons:
            parts.append(
                f"the drawing is far from every training image (distance "
                f"{self.nearest_distance:.1f} to the nearest one, while {NOVELTY_QUANTILE:.0%} "
                f"of real digits the network never saw are within {self.distance_threshold:.1f})"
            )
        if not parts:
            return ""
        return "Uncertain: " + " and ".join(parts) + ". " + ONLY_ZERO_OR_ONE


def classify(
    weights: NetworkWeights, features: np.ndarray, neighbours: TrainingNeighbours
) -> Answer:
    """Run the NumPy forward pass on one input of 400 features and judge the answer."""
    layers = forward(weights, features)
    probability = float(layers.probabilities[0])
    distance = neighbours.nearest_distance(features)
    reasons = []
    if UNSURE_LOW < probability < UNSURE_HIGH:
        reasons.append(REASON_UNSURE)
    if distance > neighbours.threshold:
        reasons.append(REASON_UNFAMILIAR)
    return Answer(
        probability,
        int(probability >= 0.5),
        distance,
        neighbours.threshold,
        tuple(reasons),
        layers,
    )


@dataclass(frozen=True)
class Reading:
    """A drawing after the pipeline, with the network's answer when there is something to read."""

    steps: Preprocessed
    answer: Answer | None


def read_drawing(
    rgba: np.ndarray,
    weights: NetworkWeights,
    neighbours: TrainingNeighbours,
    *,
    crop: bool = True,
    centre: bool = True,
) -> Reading:
    """From the canvas's RGBA pixels to an answer; no answer for an empty canvas or a dot."""
    steps = preprocess(rgba, crop=crop, centre=centre)
    features = steps.features
    if features is None:
        return Reading(steps, None)
    return Reading(steps, classify(weights, features, neighbours))
