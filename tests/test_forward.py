"""The NumPy forward pass: shapes, every layer's values, and agreement with Keras to 1e-5."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model.config import TrainConfig
from model.forward import NetworkWeights, forward, mean_weights, sigmoid
from model.network import build_model


def random_weights(units: tuple[int, ...], activation: str, seed: int = 0) -> NetworkWeights:
    rng = np.random.default_rng(seed)
    sizes = [400, *units, 1]
    arrays = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        arrays += [rng.normal(0, 0.3, (fan_in, fan_out)), rng.normal(0, 0.3, fan_out)]
    return NetworkWeights.from_list(arrays, activation)


def test_forward_returns_every_layer() -> None:
    weights = random_weights((25, 15), "sigmoid")
    x = np.random.default_rng(1).random((4, 400), dtype=np.float32)
    result = forward(weights, x)
    assert [a.shape for a in result.activations] == [(4, 25), (4, 15), (4, 1)]
    z1 = x @ weights.kernels[0] + weights.biases[0]
    assert np.allclose(result.pre_activations[0], z1, atol=1e-5)
    assert np.allclose(result.activations[0], 1 / (1 + np.exp(-z1)), atol=1e-6)
    assert result.probabilities.shape == (4,)
    assert forward(weights, x[0]).probabilities.shape == (1,)


def test_sigmoid_is_stable_at_extremes() -> None:
    with np.errstate(all="raise"):
        values = sigmoid(np.array([-1e4, 0.0, 1e4]))
    assert values.tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    ("units", "activation"), [((25, 15), "sigmoid"), ((7,), "relu"), ((9, 5, 3), "tanh")]
)
def test_matches_keras_to_1e_5(units: tuple[int, ...], activation: str) -> None:
    config = TrainConfig(hidden_units=units, activation=activation)
    model = build_model(config)
    model.set_weights(random_weights(units, activation, seed=3).as_list())
    x = np.random.default_rng(2).random((32, 400), dtype=np.float32)
    expected = model.predict(x, verbose=0)[:, 0]
    weights = NetworkWeights.from_list(model.get_weights(), activation)
    assert np.abs(forward(weights, x).probabilities - expected).max() < 1e-5


def test_rejects_weights_that_do_not_chain() -> None:
    good = random_weights((25, 15), "sigmoid").as_list()
    with pytest.raises(ValueError, match="layer 2"):
        NetworkWeights.from_list([good[0], good[1], good[4], good[5]], "sigmoid")
    with pytest.raises(ValueError, match="activation"):
        NetworkWeights.from_list(good, "softmax")
    with pytest.raises(ValueError, match="400 features"):
        forward(NetworkWeights.from_list(good, "sigmoid"), np.zeros((1, 399)))


def test_mean_weights_averages_every_array_of_one_network() -> None:
    rng = np.random.default_rng(3)

    def weights(units: int) -> NetworkWeights:
        shapes = [(400, units), (units,), (units, 1), (1,)]
        return NetworkWeights.from_list([rng.normal(size=shape) for shape in shapes], "sigmoid")

    first, second, third = weights(3), weights(3), weights(3)
    mean = mean_weights([first, second, third])
    for kept, *originals in zip(
        mean.as_list(), first.as_list(), second.as_list(), third.as_list(), strict=True
    ):
        np.testing.assert_allclose(kept, sum(originals) / 3, atol=1e-6)
        assert kept.dtype == np.float32
    assert mean_weights([first]).as_list()[0].tolist() == first.as_list()[0].tolist()
    with pytest.raises(ValueError):
        mean_weights([first, weights(4)])
    with pytest.raises(ValueError, match="at least one"):
        mean_weights([])
