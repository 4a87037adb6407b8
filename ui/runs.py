"""The session's training runs and the server's one job queue they go through."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from model.config import OPTIMIZER_LABELS, TrainConfig, describe
from model.evaluation import Predictions, predict_test
from model.forward import NetworkWeights
from model.jobs import DATASET_ERROR, FAILED, QUEUED, STOPPED, JobManager, JobRequest, JobView
from model.training import EpochLog
from ui.state import SESSION_MODEL, ActiveModel

# Session keys: the learner's runs (oldest first); a flag to put the dataset back to the bundled one.
RUNS = "train_runs"
DATASET_FALLBACK = "train_dataset_fallback"

# A run's status beyond the job states: it stopped itself because the loss became NaN.
DIVERGED = "diverged"
# A job this session started that the server no longer knows, with no reason recorded.
LOST_MESSAGE = "The training job was lost: the server restarted. Press Train again."
# Seconds from the first page view until the worker processes start and import TensorFlow on
# every core (a Train press starts them at once): the browser has drawn that page by then.
PREWARM_DELAY_SECONDS = 3.0


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
    """One pool of training processes for the whole server."""
    return JobManager(owner_alive=_session_alive, start_delay=PREWARM_DELAY_SECONDS)


def prewarm_training() -> None:
    """Start the pool after the first page view, so its workers import TensorFlow while the
    learner reads (not after the first Train press) and not while the browser draws the page."""
    job_manager()


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


def start_run(config: TrainConfig, client: str | None = None) -> None:
    for run in runs():
        run.drop_heavy_parts()
    run = Run(number=len(runs()) + 1, config=config)
    runs().append(run)
    run.job_id = job_manager().submit(JobRequest(config), _owner(), client=client)


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


def continue_run(config: TrainConfig, client: str | None = None) -> None:
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
    run.job_id = job_manager().submit(request, _owner(), client=client)


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
    run = latest_run()
    if run is None or run.job_id is None:
        return None
    manager = job_manager()
    view = manager.status(run.job_id) if with_history else manager.peek(run.job_id)
    if view is None:
        run.message = manager.gone_reason(run.job_id) or LOST_MESSAGE
        run.job_id = None
        run.status = FAILED
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
