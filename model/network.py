"""The lesson's Keras network: build it from a config, move weights in and out, serialise it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from model.config import INPUT_FEATURES, TrainConfig
from model.forward import NetworkWeights

if TYPE_CHECKING:
    import keras


def build_model(config: TrainConfig) -> keras.Sequential:
    """Step 1 of the lesson: `Sequential` of `Dense` layers ending in `Dense(1, sigmoid)`."""
    import keras

    # Seeded initialisers rather than keras.utils.set_random_seed: the seed is the run's own and
    # never touches the process-wide random state that other sessions share.
    def initializer(layer: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=config.seed * 4 + layer)

    layers = [keras.Input(shape=(INPUT_FEATURES,))]
    layers += [
        keras.layers.Dense(
            units,
            activation=config.activation,
            kernel_initializer=initializer(index),
            name=f"hidden_{index}",
        )
        for index, units in enumerate(config.hidden_units, start=1)
    ]
    layers.append(
        keras.layers.Dense(
            1, activation="sigmoid", kernel_initializer=initializer(0), name="output"
        )
    )
    return keras.Sequential(layers, name="zero_or_one")


def make_loss(config: TrainConfig) -> keras.losses.Loss:
    import keras

    if config.loss == "mean_squared_error":
        return keras.losses.MeanSquaredError()
    return keras.losses.BinaryCrossentropy()


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    import keras

    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=config.learning_rate)
    return keras.optimizers.Adam(learning_rate=config.learning_rate)


def compile_model(model: keras.Sequential, config: TrainConfig) -> keras.Sequential:
    """Step 2 of the lesson: the loss (and the optimizer that minimises it)."""
    model.compile(loss=make_loss(config), optimizer=make_optimizer(config), metrics=["accuracy"])
    return model


def weights_of(model: keras.Sequential, config: TrainConfig) -> NetworkWeights:
    return NetworkWeights.from_list(model.get_weights(), config.activation)


def keras_file_bytes(model: keras.Sequential) -> bytes:
    """The model as a `.keras` file, for the learner to download."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "zero_or_one.keras"
        model.save(path)
        return path.read_bytes()


def model_from_weights(config: TrainConfig, weights: NetworkWeights) -> keras.Sequential:
    model = compile_model(build_model(config), config)
    model.set_weights(weights.as_list())
    return model
