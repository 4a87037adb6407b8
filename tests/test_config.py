"""TrainConfig: the lesson's defaults, validation messages, JSON round trip, parameter counts."""

from __future__ import annotations

import pytest

from model.config import (
    MAX_EPOCHS,
    MAX_UNITS,
    ConfigError,
    TrainConfig,
    describe,
    layer_sizes,
    parameter_counts,
)


def test_defaults_are_the_lesson() -> None:
    config = TrainConfig()
    assert config.hidden_units == (25, 15)
    assert config.activation == "sigmoid"
    assert config.loss == "binary_crossentropy"
    assert config.optimizer == "adam"
    assert config.learning_rate == 1e-3
    assert config.batch_size == 32
    assert config.epochs == 100


def test_parameter_counts_match_the_lesson_summary() -> None:
    config = TrainConfig()
    assert layer_sizes(config) == [400, 25, 15, 1]
    assert parameter_counts(config) == [10_025, 390, 16]
    assert "10,431 parameters" in describe(config)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden_units": ()}, "1 to 3 hidden layers"),
        ({"hidden_units": (4, 4, 4, 4)}, "1 to 3 hidden layers"),
        ({"hidden_units": (0,)}, "hidden layer 1 needs 1 to 128 units"),
        ({"hidden_units": (25, MAX_UNITS + 1)}, "hidden layer 2 needs"),
        ({"hidden_units": (2.5,)}, "hidden layer 1 needs"),
        ({"epochs": MAX_EPOCHS + 1}, "epochs must be 1 to 1000"),
        ({"epochs": 0}, "epochs must be"),
        ({"learning_rate": float("nan")}, "learning rate"),
        ({"learning_rate": 5.0}, "learning rate"),
        ({"batch_size": 0}, "batch size"),
        ({"activation": "softmax"}, "activation must be one of"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"seed": -1}, "seed"),
        ({"dataset": "cifar"}, "dataset"),
        ({"epochs": True}, "epochs"),
        ({"train_size": 9}, "training images must be 10 to 700"),
        ({"train_size": 701}, "training images must be"),
        ({"train_size": 10.5}, "training images must be"),
        ({"label_noise": 0.41}, "label noise must be between 0 and 0.4"),
        ({"label_noise": float("nan")}, "label noise"),
        ({"input_noise": -0.1}, "input noise must be between 0 and 0.5"),
        ({"input_noise": True}, "input noise"),
    ],
)
def test_invalid_settings_are_named(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        TrainConfig(epochs=0, batch_size=0)
    assert "epochs" in str(error.value) and "batch size" in str(error.value)


def test_dict_round_trip_and_unknown_keys() -> None:
    config = TrainConfig(hidden_units=(8,), activation="relu", learning_rate=0.01, seed=7)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="unknown settings: colour"):
        TrainConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ConfigError, match="list of whole numbers"):
        TrainConfig.from_dict({"hidden_units": 25})


def test_configs_are_frozen_and_hashable() -> None:
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.epochs = 3  # type: ignore[misc]
    assert {config, config.with_changes(epochs=100)} == {config}


def test_the_data_settings_default_to_all_clean_data() -> None:
    config = TrainConfig()
    assert (config.train_size, config.label_noise, config.input_noise) == (None, 0.0, 0.0)


def test_a_config_saved_before_the_data_settings_existed_still_loads() -> None:
    stored = TrainConfig(hidden_units=(8,), epochs=5).to_dict()
    for key in ("train_size", "label_noise", "input_noise"):
        del stored[key]
    assert TrainConfig.from_dict(stored) == TrainConfig(hidden_units=(8,), epochs=5)
    with_data = TrainConfig(train_size=50, label_noise=0.1, input_noise=0.3)
    assert TrainConfig.from_dict(with_data.to_dict()) == with_data
