"""The network's forward pass in NumPy, so that predicting never needs TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.config import ACTIVATIONS, INPUT_FEATURES


def sigmoid(z: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large negative z, same values as 1 / (1 + e^-z).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


ACTIVATION_FUNCTIONS = {"sigmoid": sigmoid, "relu": relu, "tanh": np.tanh}


@dataclass(frozen=True)
class NetworkWeights:
    """Kernels (fan_in × fan_out) and biases of each Dense layer; the last layer is the sigmoid output."""

    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if len(self.kernels) != len(self.biases) or len(self.kernels) < 2:
            raise ValueError("need a kernel and a bias for each of at least two layers")
        fan_in = INPUT_FEATURES
        for index, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            if kernel.ndim != 2 or kernel.shape[0] != fan_in or bias.shape != (kernel.shape[1],):
                raise ValueError(
                    f"layer {index + 1}: kernel {kernel.shape} and bias {bias.shape} "
                    f"do not follow a layer of {fan_in} inputs"
                )
            fan_in = kernel.shape[1]
        if fan_in != 1:
            raise ValueError(f"the output layer must have one unit, has {fan_in}")

    @classmethod
    def from_list(cls, arrays: Sequence[np.ndarray], activation: str) -> NetworkWeights:
        """From Keras's `model.get_weights()` order: kernel, bias, kernel, bias, ..."""
        as_float = [np.array(array, dtype=np.float32) for array in arrays]
        return cls(tuple(as_float[0::2]), tuple(as_float[1::2]), activation)

    def as_list(self) -> list[np.ndarray]:
        return [array for pair in zip(self.kernels, self.biases, strict=True) for array in pair]

    @property
    def hidden_units(self) -> tuple[int, ...]:
        return tuple(kernel.shape[1] for kernel in self.kernels[:-1])


@dataclass(frozen=True)
class ForwardPass:
    """Every layer's pre-activation `z = a·W + b` and activation `a = g(z)`, batch first."""

    inputs: np.ndarray
    pre_activations: tuple[np.ndarray, ...]
    activations: tuple[np.ndarray, ...]

    @property
    def probabilities(self) -> np.ndarray:
        """P(digit is a 1) for each input row."""
        return self.activations[-1][:, 0]


def mean_weights(weight_sets: Sequence[NetworkWeights]) -> NetworkWeights:
    """The element-wise mean of weight sets of one network (Polyak averaging of its iterates)."""
    if not weight_sets:
        raise ValueError("need at least one set of weights to average")
    first = weight_sets[0]

    def mean(arrays: list[np.ndarray]) -> np.ndarray:
        return np.mean(np.stack(arrays), axis=0, dtype=np.float64).astype(np.float32)

    return NetworkWeights(
        tuple(mean([w.kernels[i] for w in weight_sets]) for i in range(len(first.kernels))),
        tuple(mean([w.biases[i] for w in weight_sets]) for i in range(len(first.biases))),
        first.activation,
    )


def forward(weights: NetworkWeights, x: np.ndarray) -> ForwardPass:
    """Run one input (400,) or a batch (N, 400) through the network."""
    inputs = np.atleast_2d(np.asarray(x, dtype=np.float32))
    if inputs.shape[1] != INPUT_FEATURES:
        raise ValueError(f"expected {INPUT_FEATURES} features per input, got {inputs.shape[1]}")
    hidden = ACTIVATION_FUNCTIONS[weights.activation]
    last = len(weights.kernels) - 1
    pre_activations, activations = [], []
    current = inputs
    for index, (kernel, bias) in enumerate(zip(weights.kernels, weights.biases, strict=True)):
        z = current @ kernel + bias
        current = sigmoid(z) if index == last else hidden(z)
        pre_activations.append(z)
        activations.append(current)
    return ForwardPass(inputs, tuple(pre_activations), tuple(activations))


def predict_proba(weights: NetworkWeights, x: np.ndarray) -> np.ndarray:
    return forward(weights, x).probabilities


def accuracy(
    weights: NetworkWeights, x: np.ndarray, y: np.ndarray, threshold: float = 0.5
) -> float:
    predictions = predict_proba(weights, x) >= threshold
    return float(np.mean(predictions == (np.asarray(y) >= 0.5)))
