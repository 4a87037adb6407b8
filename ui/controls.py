"""The Train page's settings widgets: the network, the fit and the data, seeded from a config."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import streamlit as st

from model.augment import AUGMENTED_COPIES
from model.config import (
    ACTIVATIONS,
    DATASETS,
    LOSS_LABELS,
    MAX_HIDDEN_LAYERS,
    MAX_INPUT_NOISE,
    MAX_LABEL_NOISE,
    MAX_LEARNING_RATE,
    MAX_TRAIN_SIZE,
    MAX_UNITS,
    MIN_HIDDEN_LAYERS,
    MIN_LEARNING_RATE,
    MIN_TRAIN_SIZE,
    MIN_UNITS,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    ConfigError,
    TrainConfig,
)
from ui.runs import DATASET_FALLBACK

LEARNING_RATE_STEPS_PER_DECADE = 3
DATASET_LABELS = {
    "bundled": "Bundled (1,000 images)",
    "mnist": "Full MNIST 0s and 1s (~14,800)",
    "class": "Bundled + our class's drawings",
}
ACTIVATION_LABELS = {"sigmoid": "sigmoid", "relu": "ReLU", "tanh": "tanh"}
# Widget keys that are not TrainConfig fields: the number of hidden layers and each one's units.
LAYERS_KEY = "layers"
UNITS_KEYS = tuple(f"units_{index}" for index in range(1, MAX_HIDDEN_LAYERS + 1))
DEFAULT_EXTRA_UNITS = 10
LABEL_NOISE_STEP = 0.01
INPUT_NOISE_STEP = 0.05


def learning_rate_options(current: float) -> list[float]:
    """A log-spaced grid from the smallest to the largest rate, plus the current value."""
    decades = round(math.log10(MAX_LEARNING_RATE / MIN_LEARNING_RATE))
    steps = decades * LEARNING_RATE_STEPS_PER_DECADE
    grid = {
        float(f"{MIN_LEARNING_RATE * 10 ** (step / LEARNING_RATE_STEPS_PER_DECADE):.1g}")
        for step in range(steps + 1)
    }
    return sorted(grid | {current})


def render_controls(
    defaults: TrainConfig,
    hidden: frozenset[str] = frozenset(),
    datasets: Sequence[str] = DATASETS,
) -> TrainConfig | str:
    """The settings widgets, seeded from `defaults`; returns the chosen config or what is wrong.

    Widget keys are the TrainConfig field names (plus `layers` and `units_1..3`, which
    `hidden_units` stands for), and a control named in `hidden` is not shown: its value
    stays the one in `defaults`. `datasets` are the ones offered (the class's drawings only
    to a member of a class).
    """
    if st.session_state.pop(DATASET_FALLBACK, False):
        st.session_state["dataset"] = "bundled"
    values: dict[str, object] = {}

    def shown(name: str) -> bool:
        if name == LAYERS_KEY or name in UNITS_KEYS:
            return name not in hidden and "hidden_units" not in hidden
        return name not in hidden

    network, fitting = st.columns(2)
    with network:
        st.markdown("**Network**")
        layers = len(defaults.hidden_units)
        if shown(LAYERS_KEY):
            layers = st.slider(
                "Hidden layers", MIN_HIDDEN_LAYERS, MAX_HIDDEN_LAYERS, layers, key=LAYERS_KEY
            )
        units = []
        for index in range(layers):
            key = UNITS_KEYS[index]
            default = (
                defaults.hidden_units[index]
                if index < len(defaults.hidden_units)
                else DEFAULT_EXTRA_UNITS
            )
            if shown(key):
                default = st.slider(
                    f"Units in hidden layer {index + 1}", MIN_UNITS, MAX_UNITS, default, key=key
                )
            units.append(default)
        values["hidden_units"] = tuple(units)
        if shown("activation"):
            values["activation"] = st.segmented_control(
                "Activation of the hidden layers",
                ACTIVATIONS,
                default=defaults.activation,
                format_func=ACTIVATION_LABELS.get,
                required=True,
                key="activation",
            )
        if shown("loss"):
            values["loss"] = st.radio(
                "Loss",
                list(LOSS_LABELS),
                index=list(LOSS_LABELS).index(defaults.loss),
                format_func=LOSS_LABELS.get,
                horizontal=True,
                key="loss",
            )
        if shown("dataset"):
            values["dataset"] = st.radio(
                "Dataset",
                datasets,
                index=list(datasets).index(defaults.dataset) if defaults.dataset in datasets else 0,
                format_func=DATASET_LABELS.get,
                horizontal=True,
                key="dataset",
            )
    with fitting:
        st.markdown("**Fit**")
        if shown("epochs"):
            values["epochs"] = st.number_input(
                "Epochs", value=defaults.epochs, step=1, key="epochs"
            )
        if shown("learning_rate"):
            values["learning_rate"] = st.select_slider(
                "Learning rate",
                learning_rate_options(defaults.learning_rate),
                value=defaults.learning_rate,
                format_func=lambda rate: f"{rate:g}",
                key="learning_rate",
            )
        if shown("batch_size"):
            values["batch_size"] = st.number_input(
                "Batch size",
                value=defaults.batch_size,
                step=1,
                help="Images per training step; the training split's size or more is one full batch.",
                key="batch_size",
            )
        if shown("optimizer"):
            values["optimizer"] = st.radio(
                "Optimizer",
                OPTIMIZERS,
                index=OPTIMIZERS.index(defaults.optimizer),
                format_func=OPTIMIZER_LABELS.get,
                horizontal=True,
                key="optimizer",
            )
        if shown("seed"):
            values["seed"] = st.number_input("Random seed", value=defaults.seed, step=1, key="seed")
        if shown("shuffle"):
            values["shuffle"] = st.checkbox(
                "Shuffle the images every epoch", value=defaults.shuffle, key="shuffle"
            )
        if shown("augment"):
            values["augment"] = st.checkbox(
                f"Also train on {AUGMENTED_COPIES} copies of each image, varied like other "
                "people's handwriting (slower)",
                value=defaults.augment,
                key="augment",
            )
    values.update(render_data_controls(defaults, shown))
    try:
        return defaults.with_changes(**values)
    except ConfigError as error:
        return f"Please fix these settings: {error}."


def render_data_controls(defaults: TrainConfig, shown: Callable[[str], bool]) -> dict[str, object]:
    """How much of the training data to use and how to spoil it; validation and test stay clean."""
    values: dict[str, object] = {}
    if not any(shown(name) for name in ("train_size", "label_noise", "input_noise")):
        return values
    st.markdown("**Training data**")
    size, labels, pixels = st.columns(3)
    if shown("train_size"):
        values["train_size"] = size.number_input(
            "Training images",
            value=defaults.train_size,
            step=1,
            placeholder="all",
            help=f"{MIN_TRAIN_SIZE} to {MAX_TRAIN_SIZE}, the same share of 0s and 1s as the "
            "training split, picked by the seed; leave it empty to use all of them.",
            key="train_size",
        )
    if shown("label_noise"):
        values["label_noise"] = labels.slider(
            "Training labels flipped",
            0.0,
            MAX_LABEL_NOISE,
            float(defaults.label_noise),
            LABEL_NOISE_STEP,
            format="percent",
            help="This share of the training images is labelled as the other digit.",
            key="label_noise",
        )
    if shown("input_noise"):
        values["input_noise"] = pixels.slider(
            "Pixel noise (std)",
            0.0,
            MAX_INPUT_NOISE,
            float(defaults.input_noise),
            INPUT_NOISE_STEP,
            help="Random Gaussian noise added to every training pixel, clipped to 0..1.",
            key="input_noise",
        )
    return values
