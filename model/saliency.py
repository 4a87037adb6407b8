"""Why this answer: each input pixel's push towards 1 or 0 (gradient × input), by a NumPy backward pass."""

from __future__ import annotations

import numpy as np

from model.config import INPUT_SIDE
from model.forward import ACTIVATION_FUNCTIONS, NetworkWeights

# Okabe–Ito's blue and orange: a diverging pair that colour-blind viewers tell apart too.
TOWARDS_ZERO_RGB = np.array([0, 114, 178], dtype=np.float32)
TOWARDS_ONE_RGB = np.array([230, 159, 0], dtype=np.float32)
# The input stays visible under the colours, dimmed so the colours stand out against it.
BACKGROUND_BRIGHTNESS = 0.45
# Below 1, faint pushes still get some colour instead of vanishing into the background.
OPACITY_GAMMA = 0.6


def _derivative(activation: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """g'(z) of a hidden activation, from its input z and output a = g(z)."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a**2
    if activation == "relu":
        # Keras's ReLU has gradient 0 at z = 0, and so does this.
        return (z > 0).astype(z.dtype)
    raise ValueError(f"unknown activation {activation!r}")


def logit_gradient(weights: NetworkWeights, x: np.ndarray) -> np.ndarray:
    """d(output logit)/d(input) for each row of x (N×400, or one input of 400), in float64.

    The logit z of the output, not the probability σ(z): σ flattens near 0 and 1, so a
    confident answer would show almost no gradient although its pixels still decide it.
    """
    current = np.atleast_2d(np.asarray(x, dtype=np.float64))
    kernels = [np.asarray(kernel, dtype=np.float64) for kernel in weights.kernels]
    biases = [np.asarray(bias, dtype=np.float64) for bias in weights.biases]
    hidden = ACTIVATION_FUNCTIONS[weights.activation]
    slopes = []
    for kernel, bias in zip(kernels[:-1], biases[:-1], strict=True):
        z = current @ kernel + bias
        current = hidden(z)
        slopes.append(_derivative(weights.activation, z, current))
    # Backwards from d(logit)/d(last hidden layer), which is the output kernel itself.
    gradient = np.repeat(kernels[-1].T, len(current), axis=0)
    for kernel, slope in zip(reversed(kernels[:-1]), reversed(slopes), strict=True):
        gradient = (gradient * slope) @ kernel.T
    return gradient


def saliency(weights: NetworkWeights, x: np.ndarray) -> np.ndarray:
    """Gradient × input: > 0 where a pixel pushes the answer towards 1, < 0 towards 0."""
    inputs = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return logit_gradient(weights, inputs) * inputs


def saliency_rgb(
    values: np.ndarray, network_input: np.ndarray, limit: float | None = None
) -> np.ndarray:
    """A 20×20 uint8 RGB picture: the input in dim gray, orange where pixels push to 1, blue to 0."""
    push = np.nan_to_num(np.asarray(values, dtype=np.float32).reshape(INPUT_SIDE, INPUT_SIDE))
    image = np.clip(np.asarray(network_input, dtype=np.float32), 0.0, 1.0)
    image = image.reshape(INPUT_SIDE, INPUT_SIDE)
    largest = float(np.max(np.abs(push))) if limit is None else limit
    scale = largest if np.isfinite(largest) and largest > 0 else 1.0
    opacity = (np.clip(np.abs(push) / scale, 0.0, 1.0) ** OPACITY_GAMMA)[..., None]
    colour = np.where(push[..., None] >= 0, TOWARDS_ONE_RGB, TOWARDS_ZERO_RGB)
    background = (image * BACKGROUND_BRIGHTNESS * 255.0)[..., None]
    return np.rint((1.0 - opacity) * background + opacity * colour).astype(np.uint8)


def saliency_legend(width: int = 200, height: int = 10) -> np.ndarray:
    """The colour scale from "towards 0" (left) through none to "towards 1" (right), as RGB."""
    ramp = np.tile(np.linspace(-1.0, 1.0, width, dtype=np.float32), (height, 1))
    opacity = (np.abs(ramp) ** OPACITY_GAMMA)[..., None]
    colour = np.where(ramp[..., None] >= 0, TOWARDS_ONE_RGB, TOWARDS_ZERO_RGB)
    return np.rint(opacity * colour).astype(np.uint8)
