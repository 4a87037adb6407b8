"""The code shown for each step is real Keras code that builds the configured network."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from model.augment import AUGMENTED_COPIES
from model.config import TrainConfig, parameter_counts
from model.lesson_code import (
    batches_per_epoch,
    compile_code,
    fit_code,
    imports_code,
    specify_code,
    training_images,
)


def test_lesson_defaults_read_like_the_lesson() -> None:
    config = TrainConfig()
    assert "Dense(25, activation='sigmoid')" in specify_code(config)
    assert "Dense(15, activation='sigmoid')" in specify_code(config)
    assert "loss=BinaryCrossentropy()" in compile_code(config)
    assert fit_code(config) == "model.fit(X, y, epochs=100, batch_size=32)"


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(
            hidden_units=(7,),
            activation="relu",
            loss="mean_squared_error",
            optimizer="sgd",
            learning_rate=0.05,
            epochs=2,
            batch_size=8,
            shuffle=False,
        ),
        TrainConfig(hidden_units=(4, 3, 2), activation="tanh"),
    ],
)
def test_shown_code_runs_and_builds_the_configured_network(config: TrainConfig) -> None:
    source = "\n".join(
        [imports_code(config), specify_code(config), compile_code(config), fit_code(config)]
    )
    ast.parse(source)
    rng = np.random.default_rng(0)
    namespace = {"X": rng.random((8, 400), dtype=np.float32), "y": np.arange(8) % 2}
    # Run everything except fit's epochs: build and compile exactly as shown.
    exec(source.replace(f"epochs={config.epochs}", "epochs=1", 1), namespace)
    model = namespace["model"]
    assert model.count_params() == sum(parameter_counts(config))
    assert [layer.activation.__name__ for layer in model.layers[:-1]] == [config.activation] * len(
        config.hidden_units
    )
    assert type(model.loss).__name__ in compile_code(config)
    assert float(model.optimizer.learning_rate) == pytest.approx(config.learning_rate)


def test_batches_per_epoch_counts_the_last_partial_batch() -> None:
    assert batches_per_epoch(700, 32) == 22
    assert batches_per_epoch(64, 32) == 2
    assert batches_per_epoch(1, 32) == 1


def test_augmentation_multiplies_the_images_per_epoch() -> None:
    assert training_images(700, TrainConfig()) == 700
    assert training_images(700, TrainConfig(augment=True)) == 700 * (1 + AUGMENTED_COPIES)


def test_a_sample_of_the_training_images_is_what_an_epoch_counts() -> None:
    assert training_images(700, TrainConfig(train_size=10)) == 10
    assert training_images(700, TrainConfig(train_size=10, augment=True)) == 10 * (
        1 + AUGMENTED_COPIES
    )
