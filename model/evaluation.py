"""How a trained network does on the test images: confusion matrix, precision, recall, hard cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.config import INPUT_SIDE
from model.data import Split
from model.forward import NetworkWeights, predict_proba

DEFAULT_THRESHOLD = 0.5
GALLERY_SIZE = 8


@dataclass(frozen=True)
class Confusion:
    """Counts of the four outcomes when "is a 1" is predicted for probabilities ≥ the threshold."""

    true_negatives: int
    false_positives: int
    false_negatives: int
    true_positives: int

    @property
    def total(self) -> int:
        return (
            self.true_negatives + self.false_positives + self.false_negatives + self.true_positives
        )

    @property
    def accuracy(self) -> float:
        return (self.true_negatives + self.true_positives) / self.total if self.total else 0.0

    @property
    def precision(self) -> float | None:
        """Of the images called 1, the share that are 1s; None when none was called 1."""
        called_one = self.true_positives + self.false_positives
        return self.true_positives / called_one if called_one else None

    @property
    def recall(self) -> float | None:
        """Of the real 1s, the share that were called 1; None when there are no 1s."""
        real_ones = self.true_positives + self.false_negatives
        return self.true_positives / real_ones if real_ones else None

    def as_rows(self) -> list[list[int]]:
        """Rows = true label 0, 1; columns = predicted 0, 1."""
        return [
            [self.true_negatives, self.false_positives],
            [self.false_negatives, self.true_positives],
        ]


@dataclass(frozen=True)
class Predictions:
    """The network's probability that each test image is a 1, next to the true labels."""

    probabilities: np.ndarray
    labels: np.ndarray
    images: np.ndarray

    def confusion(self, threshold: float = DEFAULT_THRESHOLD) -> Confusion:
        return confusion(self.probabilities, self.labels, threshold)

    def image(self, index: int) -> np.ndarray:
        """The test image as the network sees it: 20×20 in [0, 1]."""
        return self.images[index].reshape(INPUT_SIDE, INPUT_SIDE)


def predict_test(weights: NetworkWeights, test: Split) -> Predictions:
    return Predictions(
        predict_proba(weights, test.x), np.asarray(test.y) >= 0.5, np.asarray(test.x)
    )


def confusion(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> Confusion:
    predicted = np.asarray(probabilities) >= threshold
    actual = np.asarray(labels) >= 0.5
    return Confusion(
        true_negatives=int(np.sum(~predicted & ~actual)),
        false_positives=int(np.sum(predicted & ~actual)),
        false_negatives=int(np.sum(~predicted & actual)),
        true_positives=int(np.sum(predicted & actual)),
    )


def misclassified(
    predictions: Predictions, threshold: float = DEFAULT_THRESHOLD, limit: int = GALLERY_SIZE
) -> list[int]:
    """Indices of wrongly called test images, the most confidently wrong first."""
    predicted = predictions.probabilities >= threshold
    wrong = np.flatnonzero(predicted != predictions.labels)
    confidence_in_truth = np.where(
        predictions.labels[wrong],
        predictions.probabilities[wrong],
        1 - predictions.probabilities[wrong],
    )
    return [int(index) for index in wrong[np.argsort(confidence_in_truth, kind="stable")][:limit]]


def closest_calls(
    predictions: Predictions, threshold: float = DEFAULT_THRESHOLD, limit: int = GALLERY_SIZE
) -> list[int]:
    """Indices of the test images whose probability is nearest the threshold."""
    distance = np.abs(predictions.probabilities - threshold)
    return [int(index) for index in np.argsort(distance, kind="stable")[:limit]]
