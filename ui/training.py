"""The Train page's Streamlit side: the shared job manager, the session's runs, controls and views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
    describe,
    layer_sizes,
    parameter_counts,
)
from model.evaluation import Predictions, closest_calls, misclassified, predict_test
from model.forward import NetworkWeights
from model.jobs import DATASET_ERROR, FAILED, QUEUED, STOPPED, JobManager, JobRequest, JobView
from model.training import EpochLog
from ui.state import SESSION_MODEL, ActiveModel

# Session keys: the learner's runs (oldest first); a flag to put the dataset back to the bundled one.
RUNS = "train_runs"
DATASET_FALLBACK = "train_dataset_fallback"

# A run's status beyond the job states: it stopped itself because the loss became NaN.
DIVERGED = "diverged"
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
# Widget keys that are not TrainConfig fields: the number of hidden layers and each one's units.
LAYERS_KEY = "layers"
UNITS_KEYS = tuple(f"units_{index}" for index in range(1, MAX_HIDDEN_LAYERS + 1))
DEFAULT_EXTRA_UNITS = 10


@dataclass
class Run:
    """One run of the session: its settings and curves, and for the latest run its weights."""

    number: int
    config: TrainConfig
    history: list[EpochLog] = field(default_factory=list)
    status: str = QUEUED
    message: str | None = None
    job_id: int | None = None
    # Epochs from earlier jobs of this run (Continue); the current job's epochs come after them.
    earlier_epochs: int = 0
    weights_epoch: int = 0
    test_accuracy: float | None = None
    result_weights: NetworkWeights | None = None
    optimizer_state: list[np.ndarray] | None = None
    keras_file: bytes | None = None
    test: Predictions | None = None

    @property
    def training(self) -> bool:
        return self.job_id is not None

    def label(self) -> str:
        units = "-".join(str(count) for count in self.config.hidden_units)
        return (
            f"Run {self.number}: {units} {self.config.activation}, "
            f"lr {self.config.learning_rate:g}, batch {self.config.batch_size}, "
            f"{OPTIMIZER_LABELS[self.config.optimizer]}, seed {self.config.seed}"
        )

    def drop_heavy_parts(self) -> None:
        """Older runs keep settings and curves only; the session holds one model's bytes."""
        self.result_weights = None
        self.optimizer_state = None
        self.keras_file = None
        self.test = None


def _session_alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not session_id or not Runtime.exists():
        return True
    return bool(Runtime.instance().is_active_session(session_id))


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One pool of training processes for the whole server; its workers import TensorFlow now."""
    return JobManager(owner_alive=_session_alive)


def _owner() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else ""


def runs() -> list[Run]:
    if RUNS not in st.session_state:
        st.session_state[RUNS] = []
    return st.session_state[RUNS]


def latest_run() -> Run | None:
    return runs()[-1] if runs() else None


# -- starting, stopping and following jobs ----------------------------------------------


def start_run(config: TrainConfig) -> None:
    for run in runs():
        run.drop_heavy_parts()
    run = Run(number=len(runs()) + 1, config=config)
    runs().append(run)
    run.job_id = job_manager().submit(JobRequest(config), _owner())


def continue_problem(config: TrainConfig) -> str | None:
    """Why Continue cannot go on from the latest weights with these settings, or None."""
    run = latest_run()
    if run is None or run.result_weights is None:
        return "Train a network first."
    if run.training:
        return "The network is still training."
    if (run.config.hidden_units, run.config.activation) != (
        config.hidden_units,
        config.activation,
    ):
        return (
            "Continue needs the trained network's layers and activation "
            f"({describe(run.config)}); press Train to start a new one."
        )
    return None


def continue_run(config: TrainConfig) -> None:
    run = latest_run()
    if run is None or continue_problem(config) is not None:
        return
    same_optimizer = config.optimizer == run.config.optimizer
    request = JobRequest(
        config,
        initial=run.result_weights,
        first_epoch=len(run.history) + 1,
        optimizer_state=run.optimizer_state if same_optimizer else None,
    )
    run.config = config
    run.earlier_epochs = len(run.history)
    run.status = QUEUED
    run.message = None
    run.job_id = job_manager().submit(request, _owner())


def stop_run() -> None:
    run = latest_run()
    if run is not None and run.job_id is not None:
        job_manager().cancel(run.job_id)


def reset_model() -> None:
    """Forget the session's weights: the Draw page answers with the bundled model again."""
    stop_run()
    run = latest_run()
    if run is not None:
        if run.job_id is not None:
            job_manager().forget(run.job_id)
            run.job_id = None
            run.status = STOPPED
        run.drop_heavy_parts()
    st.session_state[SESSION_MODEL] = None


def _publish(run: Run, weights: NetworkWeights, training: bool) -> None:
    epochs = len(run.history)
    accuracy = "" if run.test_accuracy is None else f", test accuracy {run.test_accuracy:.1%}"
    state = "training, " if training else ""
    st.session_state[SESSION_MODEL] = ActiveModel(
        weights,
        run.config,
        "session",
        f"your model from run {run.number} ({describe(run.config)}, {state}"
        f"{epochs} epochs{accuracy})",
        training=training,
    )


def sync(with_history: bool = False) -> JobView | None:
    """Bring the latest run up to date with its job; cheap without the history.

    Called on every rerun of every page (through `current_model`), so the Draw page
    answers with the newest weights of a run that is still training.
    """
    # The first page view of any learner creates the pool, so the workers import
    # TensorFlow while the learner is still reading, not after the first Train press.
    manager = job_manager()
    run = latest_run()
    if run is None or run.job_id is None:
        return None
    view = manager.status(run.job_id) if with_history else manager.peek(run.job_id)
    if view is None:
        run.job_id = None
        run.status = FAILED
        run.message = "The training job was lost (was the server restarted?). Press Train again."
        return None
    if view.finished and not with_history:
        view = manager.status(run.job_id)
    if with_history or view.finished:
        run.history[run.earlier_epochs :] = view.history
    run.status = view.state
    if view.weights is not None and view.weights is not run.result_weights:
        run.result_weights = view.weights
        if not view.finished:
            _publish(run, view.weights, training=True)
    if view.finished:
        _finish(run, view)
        manager.forget(view.job_id)
    return view


def _finish(run: Run, view: JobView) -> None:
    run.job_id = None
    run.message = view.error
    result = view.result
    if result is not None:
        run.history[run.earlier_epochs :] = result.history
        run.result_weights = result.weights
        run.optimizer_state = result.optimizer_state
        run.keras_file = result.keras_file
        run.test = predict_test(result.weights, result.test)
        run.test_accuracy = run.test.confusion().accuracy
        if result.diverged:
            run.status = DIVERGED
            run.message = (
                "The loss became NaN or infinite, so training stopped; the last weights "
                "with a finite loss are kept. Try a smaller learning rate."
            )
    else:
        # The weights are the last snapshot the job sent; nothing was measured on them.
        run.optimizer_state = None
        run.keras_file = None
        run.test = None
        run.test_accuracy = None
    if view.error_kind == DATASET_ERROR:
        st.session_state[DATASET_FALLBACK] = True
    if run.result_weights is not None:
        _publish(run, run.result_weights, training=False)


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
    loss.line_chart(curves(history, ("loss", "val_loss")), x_label="epoch", y_label="loss")
    accuracy.line_chart(
        curves(history, ("accuracy", "val_accuracy")), x_label="epoch", y_label="accuracy"
    )


def render_progress(run: Run, view: JobView) -> None:
    if view.state == QUEUED and view.pool_starting:
        st.info(
            "Starting the training processes (loading TensorFlow takes a few seconds)…",
            icon=":material/hourglass_top:",
        )
        return
    if view.state == QUEUED:
        st.info(
            f"Waiting for a free training process: you are number {view.position} in the queue.",
            icon=":material/hourglass_top:",
        )
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
    chosen = st.multiselect(
        "Runs to compare",
        list(labels),
        default=list(labels)[-3:],
        format_func=labels.get,
        key="compare_runs",
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
        st.line_chart(pd.DataFrame(series), x_label="epoch", y_label=METRIC_LABELS[metric])
