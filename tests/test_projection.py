"""The hidden-space map: PCA in NumPy matches a direct eigen-decomposition and stays oriented."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import load_splits
from model.forward import forward
from model.projection import fit_pca, hidden_map, last_hidden
from model.storage import load_pretrained
from tests.test_forward import random_weights


def test_axes_are_the_top_eigenvectors_of_the_covariance() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    projection = fit_pca(points)
    covariance = np.cov(points, rowvar=False)
    values, vectors = np.linalg.eigh(covariance)
    for index in range(2):
        expected = vectors[:, -1 - index]
        assert abs(float(projection.axes[index] @ expected)) == pytest.approx(1.0, abs=1e-8)
    assert projection.explained[0] == pytest.approx(values[-1] / values.sum())
    coordinates = projection.apply(points)
    assert coordinates.shape == (200, 2)
    assert np.allclose(coordinates.mean(axis=0), 0.0, atol=1e-9)


def test_class_one_lies_on_the_positive_side_whatever_the_svd_sign() -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 50)
    points = rng.normal(size=(100, 3)) + labels[:, None] * np.array([4.0, 0.0, 0.0])
    for flip in (1.0, -1.0):
        coordinates = fit_pca(points * flip, labels).apply(points * flip)
        assert coordinates[labels == 1, 0].mean() > coordinates[labels == 0, 0].mean()


def test_one_unit_and_constant_layers_give_finite_maps() -> None:
    single = fit_pca(np.arange(10.0)[:, None])
    assert single.axes.shape == (2, 1) and np.all(single.axes[1] == 0)
    assert single.explained.tolist() == [1.0, 0.0]
    constant = fit_pca(np.ones((10, 4)))
    assert np.all(constant.axes == 0) and np.all(constant.explained == 0)
    assert np.all(np.isfinite(constant.apply(np.ones((3, 4)))))
    with pytest.raises(ValueError, match="at least two points"):
        fit_pca(np.ones((1, 4)))


def test_hidden_map_places_the_test_images_and_the_drawing() -> None:
    weights = load_pretrained().weights
    test = load_splits().test
    drawing = test.x[0]
    result = hidden_map(weights, test.x, test.y, drawing)
    assert result.points.shape == (len(test), 2)
    assert result.units == weights.kernels[-1].shape[0]
    assert np.allclose(result.drawing, result.points[0])
    assert np.allclose(last_hidden(weights, test.x), forward(weights, test.x).activations[-2])
    # A trained network pulls the two classes apart along the first axis.
    ones, zeros = result.points[test.y == 1, 0], result.points[test.y == 0, 0]
    middle = (ones.mean() + zeros.mean()) / 2
    # All but the odd hard case (the bundled model misreads one of the 150) fall on their side.
    assert ones.mean() > zeros.mean()
    assert np.sum(ones < middle) + np.sum(zeros > middle) <= 2


def test_an_untrained_network_still_maps() -> None:
    test = load_splits().test
    result = hidden_map(random_weights((4, 1), "relu"), test.x, test.y)
    assert np.all(np.isfinite(result.points)) and result.drawing is None
