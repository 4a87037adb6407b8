"""The network and training settings of one run, validated, with the lesson's defaults."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

INPUT_SIDE = 20
INPUT_FEATURES = INPUT_SIDE * INPUT_SIDE

ACTIVATIONS = ("sigmoid", "relu", "tanh")
LOSSES = ("binary_crossentropy", "mean_squared_error")
OPTIMIZERS = ("adam", "sgd")
# "class" is the bundled images plus a class's own drawings, sent with the job (see
# `model.class_data`): the config names the dataset, the drawings travel beside it.
DATASETS = ("bundled", "mnist", "class")

MIN_EPOCHS, MAX_EPOCHS = 1, 1000
MIN_HIDDEN_LAYERS, MAX_HIDDEN_LAYERS = 1, 3
MIN_UNITS, MAX_UNITS = 1, 128
# The engine trains each hidden layer this many units wide or a multiple of it, the units past
# the learner's own held at zero (`padded_units`): one traced graph serves a class whose
# learners each pick their own width, and XLA vectorises rows of 16 floats, not of 25.
ENGINE_UNIT_STEP = 16
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-4, 1.0
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 16384
MAX_SEED = 2**31 - 1
# Data settings: a stratified sample of the training split (None: all of it), a share of its
# labels flipped, and Gaussian noise added to its pixels. Validation and test stay untouched.
MIN_TRAIN_SIZE, MAX_TRAIN_SIZE = 10, 700
MAX_LABEL_NOISE = 0.4
MAX_INPUT_NOISE = 0.5

LOSS_LABELS = {
    "binary_crossentropy": "Binary cross-entropy",
    "mean_squared_error": "Mean squared error",
}
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD"}


class ConfigError(ValueError):
    """A setting is out of range or unknown; the message lists every problem."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run; the defaults are the lesson's network and `fit` call."""

    hidden_units: tuple[int, ...] = (25, 15)
    activation: str = "sigmoid"
    loss: str = "binary_crossentropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 100
    seed: int = 1234
    dataset: str = "bundled"
    augment: bool = False
    shuffle: bool = True
    train_size: int | None = None
    label_noise: float = 0.0
    input_noise: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_units", tuple(self.hidden_units))
        problems = config_problems(self)
        if problems:
            raise ConfigError("; ".join(problems))

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden_units"] = list(self.hidden_units)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build a config from JSON-like data; unknown keys are an error, not ignored.

        Missing keys take the lesson's defaults, so configs saved before a setting existed load.
        """
        if not isinstance(data, dict):
            raise ConfigError("a config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(unknown)}")
        values = dict(data)
        if "hidden_units" in values:
            units = values["hidden_units"]
            if not isinstance(units, (list, tuple)):
                raise ConfigError("hidden_units must be a list of whole numbers")
            values["hidden_units"] = tuple(units)
        return cls(**values)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number_between(value: Any, low: float, high: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def config_problems(config: TrainConfig) -> list[str]:
    """Every reason the config is invalid, in words a learner can act on."""
    problems: list[str] = []
    units = config.hidden_units
    if not MIN_HIDDEN_LAYERS <= len(units) <= MAX_HIDDEN_LAYERS:
        problems.append(
            f"the network needs {MIN_HIDDEN_LAYERS} to {MAX_HIDDEN_LAYERS} hidden layers, "
            f"got {len(units)}"
        )
    for index, count in enumerate(units, start=1):
        if not _is_whole(count) or not MIN_UNITS <= count <= MAX_UNITS:
            problems.append(
                f"hidden layer {index} needs {MIN_UNITS} to {MAX_UNITS} units, got {count!r}"
            )
    if config.activation not in ACTIVATIONS:
        problems.append(f"activation must be one of {', '.join(ACTIVATIONS)}")
    if config.loss not in LOSSES:
        problems.append(f"loss must be one of {', '.join(LOSSES)}")
    if config.optimizer not in OPTIMIZERS:
        problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
    rate = config.learning_rate
    if not _is_number_between(rate, MIN_LEARNING_RATE, MAX_LEARNING_RATE):
        problems.append(
            f"learning rate must be between {MIN_LEARNING_RATE:g} and "
            f"{MAX_LEARNING_RATE:g}, got {rate!r}"
        )
    if (
        not _is_whole(config.batch_size)
        or not MIN_BATCH_SIZE <= config.batch_size <= MAX_BATCH_SIZE
    ):
        problems.append(
            f"batch size must be {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}, got {config.batch_size!r}"
        )
    if not _is_whole(config.epochs) or not MIN_EPOCHS <= config.epochs <= MAX_EPOCHS:
        problems.append(f"epochs must be {MIN_EPOCHS} to {MAX_EPOCHS}, got {config.epochs!r}")
    if not _is_whole(config.seed) or not 0 <= config.seed <= MAX_SEED:
        problems.append(f"seed must be a whole number from 0 to {MAX_SEED}, got {config.seed!r}")
    if config.dataset not in DATASETS:
        problems.append(f"dataset must be one of {', '.join(DATASETS)}")
    if not isinstance(config.augment, bool):
        problems.append("augment must be true or false")
    if not isinstance(config.shuffle, bool):
        problems.append("shuffle must be true or false")
    size = config.train_size
    if size is not None and (not _is_whole(size) or not MIN_TRAIN_SIZE <= size <= MAX_TRAIN_SIZE):
        problems.append(
            f"training images must be {MIN_TRAIN_SIZE} to {MAX_TRAIN_SIZE} "
            f"(or empty for all of them), got {size!r}"
        )
    if not _is_number_between(config.label_noise, 0.0, MAX_LABEL_NOISE):
        problems.append(
            f"label noise must be between 0 and {MAX_LABEL_NOISE:g}, got {config.label_noise!r}"
        )
    if not _is_number_between(config.input_noise, 0.0, MAX_INPUT_NOISE):
        problems.append(
            f"input noise must be between 0 and {MAX_INPUT_NOISE:g}, got {config.input_noise!r}"
        )
    return problems


def padded_units(units: tuple[int, ...]) -> tuple[int, ...]:
    """The hidden layers' widths the engine trains: each rounded up to a multiple of the step."""
    return tuple(-(-count // ENGINE_UNIT_STEP) * ENGINE_UNIT_STEP for count in units)


def padded_config(config: TrainConfig) -> TrainConfig:
    """The config with the hidden layers as wide as the engine trains them."""
    return config.with_changes(hidden_units=padded_units(config.hidden_units))


def layer_sizes(config: TrainConfig) -> list[int]:
    """Neurons per layer from the input to the single sigmoid output."""
    return [INPUT_FEATURES, *config.hidden_units, 1]


def parameter_counts(config: TrainConfig) -> list[int]:
    """Weights plus biases of each Dense layer, as Keras's summary counts them."""
    sizes = layer_sizes(config)
    return [fan_in * fan_out + fan_out for fan_in, fan_out in itertools.pairwise(sizes)]


def describe(config: TrainConfig) -> str:
    """One line such as `400 → 25 → 15 → 1 · sigmoid · 10,431 parameters`."""
    arrows = " → ".join(str(size) for size in layer_sizes(config))
    return f"{arrows} · {config.activation} · {sum(parameter_counts(config)):,} parameters"
