"""The Keras network built from a config: layers, parameter counts, compile, `.keras` export."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from model.config import TrainConfig, parameter_counts
from model.network import (
    build_model,
    compile_model,
    keras_file_bytes,
    model_from_weights,
    weights_of,
)


def test_default_model_is_the_lesson_network() -> None:
    model = build_model(TrainConfig())
    dense = model.layers
    assert [layer.units for layer in dense] == [25, 15, 1]
    assert [layer.activation.__name__ for layer in dense] == ["sigmoid"] * 3
    assert [layer.count_params() for layer in dense] == [10_025, 390, 16]
    assert model.count_params() == 10_431


def test_other_shapes_match_the_config_counts() -> None:
    config = TrainConfig(hidden_units=(64, 32, 8), activation="relu")
    model = build_model(config)
    assert [layer.count_params() for layer in model.layers] == parameter_counts(config)
    assert model.layers[-1].activation.__name__ == "sigmoid"


def test_compile_uses_the_configured_loss_and_optimizer() -> None:
    model = compile_model(build_model(TrainConfig()), TrainConfig())
    assert type(model.loss).__name__ == "BinaryCrossentropy"
    assert type(model.optimizer).__name__ == "Adam"
    config = TrainConfig(loss="mean_squared_error", optimizer="sgd", learning_rate=0.1)
    model = compile_model(build_model(config), config)
    assert type(model.loss).__name__ == "MeanSquaredError"
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == np.float32(0.1)


def test_same_seed_same_initial_weights() -> None:
    first = weights_of(build_model(TrainConfig(seed=5)), TrainConfig(seed=5)).as_list()
    second = weights_of(build_model(TrainConfig(seed=5)), TrainConfig(seed=5)).as_list()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_file_round_trips_the_weights(tmp_path) -> None:
    import keras

    config = TrainConfig(hidden_units=(6,))
    weights = weights_of(build_model(config), config)
    data = keras_file_bytes(model_from_weights(config, weights))
    assert zipfile.is_zipfile(io.BytesIO(data))
    path = tmp_path / "downloaded.keras"
    path.write_bytes(data)
    loaded = keras.saving.load_model(path)
    assert all(
        np.array_equal(a, b) for a, b in zip(loaded.get_weights(), weights.as_list(), strict=True)
    )
