"""The lesson's three steps as the Keras code that a given config runs, for learners to read."""

from __future__ import annotations

import math

from model.augment import AUGMENTED_COPIES
from model.config import INPUT_FEATURES, LOSS_LABELS, TrainConfig

LOSS_CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "mean_squared_error": "MeanSquaredError",
}
OPTIMIZER_CLASSES = {"adam": "Adam", "sgd": "SGD"}


def imports_code(config: TrainConfig) -> str:
    return (
        "from keras import Input, Sequential\n"
        "from keras.layers import Dense\n"
        f"from keras.losses import {LOSS_CLASSES[config.loss]}\n"
        f"from keras.optimizers import {OPTIMIZER_CLASSES[config.optimizer]}"
    )


def specify_code(config: TrainConfig) -> str:
    """Step 1: the `Sequential` of `Dense` layers; the output is always one sigmoid unit."""
    hidden = "".join(
        f"    Dense({units}, activation='{config.activation}'),\n" for units in config.hidden_units
    )
    return (
        "model = Sequential([\n"
        f"    Input(shape=({INPUT_FEATURES},)),\n"
        f"{hidden}"
        "    Dense(1, activation='sigmoid'),\n"
        "])"
    )


def compile_code(config: TrainConfig) -> str:
    """Step 2: the loss to minimise and the optimizer that follows its gradient."""
    return (
        "model.compile(\n"
        f"    loss={LOSS_CLASSES[config.loss]}(),\n"
        f"    optimizer={OPTIMIZER_CLASSES[config.optimizer]}"
        f"(learning_rate={config.learning_rate!r}),\n"
        ")"
    )


def fit_code(config: TrainConfig) -> str:
    """Step 3: `X` holds one row of 400 pixels per image, `y` its 0/1 label."""
    shuffle = "" if config.shuffle else ", shuffle=False"
    return f"model.fit(X, y, epochs={config.epochs}, batch_size={config.batch_size}{shuffle})"


def training_images(train_size: int, config: TrainConfig) -> int:
    """Images in one epoch: the originals used (all, or the config's sample), plus varied copies."""
    originals = train_size if config.train_size is None else min(train_size, config.train_size)
    return originals * (1 + AUGMENTED_COPIES) if config.augment else originals


def batches_per_epoch(train_size: int, batch_size: int) -> int:
    """Weight updates in one epoch: the last batch may be smaller than the others."""
    return math.ceil(train_size / batch_size)


def loss_name(config: TrainConfig) -> str:
    return LOSS_LABELS[config.loss]
