"""Test-set evaluation: confusion counts at a threshold, precision, recall and the hard cases."""

from __future__ import annotations

import numpy as np

from model.data import load_splits
from model.evaluation import Predictions, closest_calls, confusion, misclassified, predict_test
from model.forward import accuracy
from model.storage import load_pretrained

PROBABILITIES = np.array([0.1, 0.4, 0.6, 0.9, 0.2, 0.8])
LABELS = np.array([0, 0, 0, 1, 1, 1])
IMAGES = np.arange(6 * 400, dtype=np.float32).reshape(6, 400)


def predictions() -> Predictions:
    return Predictions(PROBABILITIES, LABELS >= 0.5, IMAGES)


def test_confusion_counts_each_outcome_at_the_threshold() -> None:
    at_half = confusion(PROBABILITIES, LABELS, 0.5)
    assert at_half.as_rows() == [[2, 1], [1, 2]]
    assert at_half.total == 6 and at_half.accuracy == 4 / 6
    assert at_half.precision == 2 / 3 and at_half.recall == 2 / 3
    strict = confusion(PROBABILITIES, LABELS, 0.85)
    assert strict.as_rows() == [[3, 0], [2, 1]]
    assert strict.precision == 1.0 and strict.recall == 1 / 3


def test_precision_and_recall_are_none_when_undefined() -> None:
    nothing_called_one = confusion(PROBABILITIES, LABELS, 1.01)
    assert nothing_called_one.precision is None and nothing_called_one.recall == 0.0
    no_ones = confusion(PROBABILITIES[:3], LABELS[:3], 0.5)
    assert no_ones.recall is None


def test_misclassified_lists_the_most_confident_mistakes_first() -> None:
    assert misclassified(predictions(), 0.5) == [4, 2]
    assert misclassified(predictions(), 0.5, limit=1) == [4]
    assert misclassified(predictions(), 0.05) == [2, 1, 0]


def test_closest_calls_are_nearest_the_threshold() -> None:
    assert sorted(closest_calls(predictions(), 0.5, limit=2)) == [1, 2]
    assert closest_calls(predictions(), 0.88, limit=1) == [3]


def test_predict_test_agrees_with_the_forward_pass() -> None:
    test = load_splits().test
    weights = load_pretrained().weights
    result = predict_test(weights, test)
    assert result.confusion().accuracy == accuracy(weights, test.x, test.y)
    assert result.image(0).shape == (20, 20)
    np.testing.assert_array_equal(result.image(3).ravel(), test.x[3])
