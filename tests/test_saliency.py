"""The NumPy backward pass against TensorFlow's GradientTape, and the saliency picture's colours."""

from __future__ import annotations

import numpy as np
import pytest

from model.saliency import (
    TOWARDS_ONE_RGB,
    TOWARDS_ZERO_RGB,
    logit_gradient,
    saliency,
    saliency_legend,
    saliency_rgb,
)
from tests.test_forward import random_weights


def tape_gradient(weights, x: np.ndarray) -> np.ndarray:
    """d(logit)/d(input) by TensorFlow: the same Dense layers in float64, output without σ."""
    import keras
    import tensorflow as tf

    layers = [
        keras.layers.Dense(kernel.shape[1], activation=weights.activation, dtype="float64")
        for kernel in weights.kernels[:-1]
    ]
    layers.append(keras.layers.Dense(1, activation=None, dtype="float64"))
    model = keras.Sequential([keras.Input((400,), dtype="float64"), *layers])
    model.set_weights([array.astype(np.float64) for array in weights.as_list()])
    inputs = tf.constant(x, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        logits = model(inputs)
    return tape.gradient(logits, inputs).numpy()


@pytest.mark.parametrize(
    ("units", "activation"),
    [
        ((25, 15), "sigmoid"),
        ((25, 15), "relu"),
        ((25, 15), "tanh"),
        ((7,), "relu"),
        ((9, 5, 3), "tanh"),
    ],
)
def test_backward_pass_matches_gradient_tape_to_1e_5(
    units: tuple[int, ...], activation: str
) -> None:
    weights = random_weights(units, activation, seed=5)
    x = np.random.default_rng(6).random((16, 400))
    ours = logit_gradient(weights, x)
    expected = tape_gradient(weights, x)
    assert ours.shape == (16, 400)
    assert np.abs(expected).max() > 1e-3  # a real gradient, not two zeros agreeing
    assert np.abs(ours - expected).max() < 1e-5


def test_saliency_is_gradient_times_input_and_zero_off_the_ink() -> None:
    weights = random_weights((25, 15), "sigmoid")
    x = np.zeros(400)
    x[100:140] = 1.0
    values = saliency(weights, x)
    assert values.shape == (1, 400)
    assert np.all(values[0, x == 0] == 0.0)
    assert np.allclose(values[0, x == 1], logit_gradient(weights, x)[0, x == 1])


def test_relu_network_without_biases_sums_to_its_logit() -> None:
    # A ReLU network without biases is linear along x, so gradient × input adds up to z.
    weights = random_weights((12, 6), "relu")
    weights = type(weights)(
        weights.kernels, tuple(np.zeros_like(b) for b in weights.biases), "relu"
    )
    x = np.random.default_rng(2).random(400)
    hidden = np.maximum(np.maximum(x @ weights.kernels[0], 0) @ weights.kernels[1], 0)
    logit = float((hidden @ weights.kernels[2])[0])
    assert saliency(weights, x).sum() == pytest.approx(logit, rel=1e-5)


def test_picture_is_orange_towards_one_blue_towards_zero_and_never_red_green() -> None:
    push = np.zeros(400)
    push[0], push[1] = 2.0, -2.0
    image = np.zeros(400)
    image[:2] = 1.0
    picture = saliency_rgb(push, image)
    assert picture.shape == (20, 20, 3) and picture.dtype == np.uint8
    assert picture[0, 0].tolist() == TOWARDS_ONE_RGB.astype(int).tolist()
    assert picture[0, 1].tolist() == TOWARDS_ZERO_RGB.astype(int).tolist()
    assert picture[5, 5].tolist() == [0, 0, 0]
    # All-zero pushes (an empty input) draw the input alone, without dividing by zero.
    assert saliency_rgb(np.zeros(400), image)[0, 0].tolist() == [115, 115, 115]
    legend = saliency_legend()
    assert legend[0, 0].tolist() == TOWARDS_ZERO_RGB.astype(int).tolist()
    assert legend[0, -1].tolist() == TOWARDS_ONE_RGB.astype(int).tolist()
