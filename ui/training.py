"""The Train page's widgets and views: the settings controls, live curves, results and run history."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from model.config import (
    ACTIVATIONS,
    DATASETS,
    LOSS_LABELS,
    MAX_HIDDEN_LAYERS,
    MAX_LEARNING_RATE,
    MAX_UNITS,
    MIN_HIDDEN_LAYERS,
    MIN_LEARNING_RATE,
    MIN_UNITS,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    ConfigError,
    TrainConfig,
    layer_sizes,
    parameter_counts,
)
from model.evaluation import Predictions, closest_calls, misclassified
from model.jobs import QUEUED, JobView
from model.limits import format_duration
from model.training import EpochLog
from ui.plots import line_chart
from ui.runs import (
    DATASET_FALLBACK,
    Run,
    job_manager,
    latest_run,
    runs,
    sync,
)

# How often the live view polls the job: fast enough to look smooth, slow enough to stay cheap.
POLL_SECONDS = 0.4
# A queued job only moves up the queue: with a class of thirty, most sessions wait, and each
# poll is a rerun on the server and a redraw in the browser.
QUEUED_POLL_SECONDS = 2.0
LEARNING_RATE_STEPS_PER_DECADE = 3
DATASET_LABELS = {"bundled": "Bundled (1,000 images)", "mnist": "Full MNIST 0s and 1s (~14,800)"}
ACTIVATION_LABELS = {"sigmoid": "sigmoid", "relu": "ReLU", "tanh": "tanh"}
METRIC_LABELS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "val_accuracy": "validation accuracy",
}
GALLERY_ZOOM = 4
# The run-history chart's selection, and the runs it has offered so far (new ones join it).
COMPARE_KEY = "compare_runs"
COMPARE_OFFERED = "compare_offered"
# Widget keys that are not TrainConfig fields: the number of hidden layers and each one's units.
LAYERS_KEY = "layers"
UNITS_KEYS = tuple(f"units_{index}" for index in range(1, MAX_HIDDEN_LAYERS + 1))
DEFAULT_EXTRA_UNITS = 10


# -- the controls -------------------------------------------------------------------------


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
    defaults: TrainConfig, hidden: frozenset[str] = frozenset()
) -> TrainConfig | str:
    """The settings widgets, seeded from `defaults`; returns the chosen config or what is wrong.

    Widget keys are the TrainConfig field names (plus `layers` and `units_1..3`, which
    `hidden_units` stands for), and a control named in `hidden` is not shown: its value
    stays the one in `defaults`.
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
                DATASETS,
                index=DATASETS.index(defaults.dataset),
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
                "Also train on shifted, rotated and thickened copies (slower)",
                value=defaults.augment,
                key="augment",
            )
    try:
        return defaults.with_changes(**values)
    except ConfigError as error:
        return f"Please fix these settings: {error}."


# -- the views ----------------------------------------------------------------------------


def curves(history: list[EpochLog], metrics: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {METRIC_LABELS[name]: [getattr(log, name) for log in history] for name in metrics},
        index=pd.Index([log.epoch for log in history], name="epoch"),
    )


def render_curves(history: list[EpochLog]) -> None:
    if not history:
        return
    loss, accuracy = st.columns(2)
    with loss:
        line_chart(curves(history, ("loss", "val_loss")), "loss")
    with accuracy:
        line_chart(curves(history, ("accuracy", "val_accuracy")), "accuracy")


def render_progress(run: Run, view: JobView) -> None:
    if view.state == QUEUED and view.pool_starting:
        st.info(
            "Starting the training processes (loading TensorFlow takes a few seconds)…",
            icon=":material/hourglass_top:",
        )
        return
    if view.state == QUEUED:
        wait = "" if view.estimated_wait is None else f", {format_duration(view.estimated_wait)}"
        place = f"you are number {view.position} in the queue{wait}"
        if view.preempted:
            text = (
                f"Paused after {run.earlier_epochs + view.epochs_done} epochs so that shorter "
                f"runs can go first; it goes on by itself ({place})."
            )
        else:
            text = f"Waiting for a free training process: {place}."
        st.info(text, icon=":material/hourglass_top:")
        return
    done, total = view.epochs_done, view.epochs_total
    eta = "" if view.eta is None else f" · about {view.eta:.0f} s left"
    st.progress(
        done / total,
        text=f"Epoch {run.earlier_epochs + done} of {run.earlier_epochs + total} · "
        f"{view.elapsed:.1f} s elapsed{eta}",
    )


def live_view() -> None:
    """While a job runs, poll it a few times a second and redraw the progress and the curves.

    A queued job is polled slowly; when it starts (or ends) the whole page reruns, which
    sets the polling pace anew.
    """
    run = latest_run()
    view = None if run is None or run.job_id is None else job_manager().peek(run.job_id)
    queued = view is not None and view.state == QUEUED

    @st.fragment(run_every=QUEUED_POLL_SECONDS if queued else POLL_SECONDS)
    def poll() -> None:
        run = latest_run()
        view = sync(with_history=True)
        if run is None or view is None or view.finished or (view.state == QUEUED) != queued:
            st.rerun()
        render_progress(run, view)
        render_curves(run.history)

    poll()


def render_summary(config: TrainConfig) -> None:
    sizes = layer_sizes(config)
    counts = parameter_counts(config)
    names = [f"hidden_{index}" for index in range(1, len(config.hidden_units) + 1)] + ["output"]
    activations = [config.activation] * len(config.hidden_units) + ["sigmoid"]
    table = pd.DataFrame(
        {
            "layer": names,
            "output shape": [f"(None, {units})" for units in sizes[1:]],
            "activation": activations,
            "parameters": [f"{count:,}" for count in counts],
        }
    )
    st.dataframe(table, hide_index=True)
    st.caption(f"Total parameters: {sum(counts):,} (weights and biases, all trainable).")


def _gallery(test: Predictions, indices: list[int], threshold: float) -> None:
    if not indices:
        st.caption("None.")
        return
    columns = st.columns(len(indices))
    for column, index in zip(columns, indices, strict=False):
        zoomed = np.kron(test.image(index), np.ones((GALLERY_ZOOM, GALLERY_ZOOM)))
        label = int(test.labels[index])
        probability = float(test.probabilities[index])
        called = int(probability >= threshold)
        column.image(
            np.clip(zoomed, 0.0, 1.0),
            caption=f"is {label}, P(1) = {probability:.2f} → {called}",
            clamp=True,
        )


def render_results(run: Run) -> None:
    test = run.test
    if test is None:
        return
    confusion = test.confusion()
    st.metric("Test accuracy", f"{confusion.accuracy:.1%}", help=f"{confusion.total} test images")
    threshold = st.slider(
        "Threshold: call it a 1 when P(1) is at least",
        0.0,
        1.0,
        0.5,
        0.01,
        key="threshold",
    )
    confusion = test.confusion(threshold)
    matrix, scores = st.columns([2, 1])
    matrix.dataframe(
        pd.DataFrame(
            confusion.as_rows(),
            index=["true 0", "true 1"],
            columns=["predicted 0", "predicted 1"],
        )
    )
    scores.metric("Precision", "-" if confusion.precision is None else f"{confusion.precision:.1%}")
    scores.metric("Recall", "-" if confusion.recall is None else f"{confusion.recall:.1%}")
    st.markdown("**Misclassified test images** (most confident mistakes first)")
    _gallery(test, misclassified(test, threshold), threshold)
    st.markdown("**Closest calls** (probability nearest the threshold)")
    _gallery(test, closest_calls(test, threshold), threshold)
    st.markdown("**Model summary**")
    render_summary(run.config)
    if run.keras_file is not None:
        st.download_button(
            "Download this model (.keras)",
            run.keras_file,
            file_name=f"zero_or_one_run_{run.number}.keras",
            mime="application/octet-stream",
            icon=":material/download:",
            key="download_keras",
        )


def render_history() -> None:
    finished = [run for run in runs() if run.history]
    if not finished:
        st.caption("Your runs will be listed here.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "run": [run.number for run in finished],
                "settings": [run.label() for run in finished],
                "epochs": [len(run.history) for run in finished],
                "loss": [run.history[-1].loss for run in finished],
                "val accuracy": [run.history[-1].val_accuracy for run in finished],
                "test accuracy": [run.test_accuracy for run in finished],
                "status": [run.status for run in finished],
            }
        ),
        hide_index=True,
        column_config={
            "loss": st.column_config.NumberColumn(format="%.4f"),
            "val accuracy": st.column_config.NumberColumn(format="percent"),
            "test accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
    labels = {run.number: run.label() for run in finished}
    offered = st.session_state.get(COMPARE_OFFERED, [])
    if COMPARE_KEY not in st.session_state:
        st.session_state[COMPARE_KEY] = list(labels)[-3:]
    else:
        # A run that finished since the last view joins the comparison: it is the one the
        # learner wants to see against the others.
        joining = [number for number in labels if number not in offered]
        st.session_state[COMPARE_KEY] = [*st.session_state[COMPARE_KEY], *joining]
    st.session_state[COMPARE_OFFERED] = list(labels)
    chosen = st.multiselect(
        "Runs to compare", list(labels), format_func=labels.get, key=COMPARE_KEY
    )
    metric = st.radio(
        "Curve",
        list(METRIC_LABELS),
        format_func=METRIC_LABELS.get,
        horizontal=True,
        key="compare_metric",
    )
    series = {
        f"run {run.number}": pd.Series(
            [getattr(log, metric) for log in run.history],
            index=[log.epoch for log in run.history],
        )
        for run in finished
        if run.number in chosen
    }
    if series:
        line_chart(pd.DataFrame(series), METRIC_LABELS[metric])
