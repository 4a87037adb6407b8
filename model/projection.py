"""The hidden space: the last hidden layer's activations projected to 2-D by PCA, in NumPy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.forward import NetworkWeights, forward

COMPONENTS = 2


@dataclass(frozen=True)
class Projection:
    """A PCA fitted on some points: their mean, the two axes (rows) and each axis's share."""

    mean: np.ndarray
    axes: np.ndarray
    explained: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(N, units) → (N, 2) coordinates on the two axes."""
        return (np.atleast_2d(np.asarray(points, dtype=np.float64)) - self.mean) @ self.axes.T


def fit_pca(points: np.ndarray, labels: np.ndarray | None = None) -> Projection:
    """The two directions along which `points` (N × units) vary most.

    A layer of one unit (or points that vary along one direction only) gets a zero second
    axis. Each axis's sign is fixed (class 1's mean on the positive side when labels are
    given) so that the map does not mirror itself between two snapshots of a training run.
    """
    data = np.asarray(points, dtype=np.float64)
    if data.ndim != 2 or len(data) < 2:
        raise ValueError(f"need at least two points of N × units, got shape {data.shape}")
    mean = data.mean(axis=0)
    centred = data - mean
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    total = float(variance.sum())
    axes = np.zeros((COMPONENTS, data.shape[1]))
    explained = np.zeros(COMPONENTS)
    for index in range(min(COMPONENTS, len(rows))):
        # Directions with no spread at all are noise from the decomposition: leave them zero.
        if total > 0 and variance[index] > 1e-12 * total:
            axes[index] = rows[index]
            explained[index] = variance[index] / total
    for index, axis in enumerate(axes):
        if labels is not None and np.any(labels == 1) and np.any(labels != 1):
            gap = data[labels == 1].mean(axis=0) - data[labels != 1].mean(axis=0)
            side = float(gap @ axis)
        else:
            side = 0.0
        if side == 0.0 and axis.any():
            side = float(axis[np.argmax(np.abs(axis))])
        if side < 0:
            axes[index] = -axis
    return Projection(mean, axes, explained)


def last_hidden(weights: NetworkWeights, x: np.ndarray) -> np.ndarray:
    """The last hidden layer's activations for each row of x: (N, units)."""
    return forward(weights, x).activations[-2]


@dataclass(frozen=True)
class HiddenMap:
    """Test images and (optionally) a drawing as points in the last hidden layer's 2-D map."""

    points: np.ndarray
    labels: np.ndarray
    drawing: np.ndarray | None
    explained: np.ndarray
    units: int


def hidden_map(
    weights: NetworkWeights,
    x: np.ndarray,
    labels: np.ndarray,
    drawing: np.ndarray | None = None,
) -> HiddenMap:
    """PCA of the images' last hidden layer, with the drawing (400 features) placed on it."""
    hidden = last_hidden(weights, x)
    projection = fit_pca(hidden, np.asarray(labels))
    placed = None
    if drawing is not None:
        placed = projection.apply(last_hidden(weights, drawing))[0]
    return HiddenMap(
        projection.apply(hidden),
        np.asarray(labels).astype(int),
        placed,
        projection.explained,
        hidden.shape[1],
    )
