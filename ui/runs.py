"""The session's training runs, kept in the lab store, and the server's one job queue."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from model.config import OPTIMIZER_LABELS, TrainConfig, describe
from model.data import DatasetUnavailable
from model.evaluation import Predictions, predict_test
from model.forward import NetworkWeights
from model.jobs import (
    QUEUED,
    STOPPED,
    JobRefused,
    JobRequest,
)
from model.training import EpochLog
from store import labs as lab_store
from store import runs as run_store
from store.recorder import DIVERGED
from store.runs import ACTIVE_STATUSES, INTERRUPTED, RunLimitReached, StoredRun
from ui.class_data import training_drawings
from ui.job_pool import job_manager, session_owner
from ui.lab import LAB, current_lab, guarded, lab_database
from ui.state import SESSION_MODEL, ActiveModel, dataset_splits

# Session keys: the learner's runs (oldest first); a flag to put the dataset back to the bundled
# one; the id of the lab the runs were loaded from.
RUNS = "train_runs"
DATASET_FALLBACK = "train_dataset_fallback"
RUNS_LAB = "train_runs_lab"

__all__ = ["DIVERGED", "INTERRUPTED"]
INTERRUPTED_MESSAGE = (
    "Training was cut off at epoch {epoch} (the server stopped or restarted). The weights "
    "saved then are kept: press Continue to go on from there."
)
# A reloaded tab waits this long at most for the last checkpoints to be written.
FLUSH_SECONDS = 2.0


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
    # The run's id in the lab store (None when there is no database).
    run_id: str | None = None

    @property
    def training(self) -> bool:
        return self.job_id is not None

    def label(self) -> str:
        units = "-".join(str(count) for count in self.config.hidden_units)
        data = []
        if self.config.train_size is not None:
            data.append(f"{self.config.train_size} images")
        if self.config.label_noise > 0:
            data.append(f"{self.config.label_noise:.0%} labels flipped")
        if self.config.input_noise > 0:
            data.append(f"pixel noise {self.config.input_noise:g}")
        return (
            f"Run {self.number}: {units} {self.config.activation}, "
            f"lr {self.config.learning_rate:g}, batch {self.config.batch_size}, "
            f"{OPTIMIZER_LABELS[self.config.optimizer]}, seed {self.config.seed}"
            + "".join(f", {part}" for part in data)
        )

    def drop_heavy_parts(self) -> None:
        """Older runs keep settings and curves only; the session holds one model's bytes."""
        self.result_weights = None
        self.optimizer_state = None
        self.keras_file = None
        self.test = None


def runs() -> list[Run]:
    """The lab's runs, loaded from the store once per session (and again for another lab)."""
    lab = current_lab()
    lab_id = None if lab is None else lab.id
    if RUNS not in st.session_state or st.session_state.get(RUNS_LAB) != lab_id:
        if RUNS_LAB in st.session_state:
            # Another lab opened in this tab: its model, not the last one's, answers.
            st.session_state[SESSION_MODEL] = None
        st.session_state[RUNS_LAB] = lab_id
        st.session_state[RUNS] = []
        if lab is not None:
            _restore(lab)
    return st.session_state[RUNS]


def _restore(lab: lab_store.Lab) -> None:
    """Bring a lab's runs back into the session: a run still training on this server is
    followed again; one that was training when the server stopped is marked interrupted."""
    recorder = lab_database().recorder
    if recorder is not None:
        recorder.flush(FLUSH_SECONDS)
    stored = guarded(lambda engine: run_store.load_runs(engine, lab.id), [])
    if not stored:
        return
    heavy_ids = {stored[-1].id, lab.active_run} - {None}
    heavy = {
        run_id: guarded(
            lambda engine, run_id=run_id: run_store.load_run(engine, lab.id, run_id), None
        )
        for run_id in heavy_ids
    }
    restored = [run_from_store(heavy.get(item.id) or item) for item in stored]
    st.session_state[RUNS] = restored
    latest = restored[-1]
    if latest.status in ACTIVE_STATUSES:
        latest.job_id = job_manager().adopt(latest.run_id, session_owner())
    for run in restored:
        if run.status in ACTIVE_STATUSES and run.job_id is None:
            run.status = INTERRUPTED
            run.message = INTERRUPTED_MESSAGE.format(epoch=len(run.history))
            guarded(
                lambda engine, run=run: run_store.set_status(
                    engine, lab.id, run.run_id, INTERRUPTED, run.message
                ),
                None,
            )
    active = next((run for run in restored if run.run_id == lab.active_run), None)
    if active is not None and active.result_weights is not None:
        publish(active, active.result_weights, training=active.training)
    for run in restored[:-1]:
        run.drop_heavy_parts()


def run_from_store(stored: StoredRun) -> Run:
    run = Run(
        number=stored.number,
        config=stored.config,
        history=list(stored.history),
        status=stored.status,
        message=stored.message,
        test_accuracy=stored.test_accuracy,
        result_weights=stored.weights,
        optimizer_state=stored.optimizer_state,
        keras_file=stored.keras_file,
        run_id=stored.id,
    )
    if stored.weights is not None and stored.test_accuracy is not None:
        try:
            run.test = predict_test(stored.weights, dataset_splits(stored.config.dataset).test)
        except DatasetUnavailable:
            run.test = None
    return run


def latest_run() -> Run | None:
    return runs()[-1] if runs() else None


# -- starting, stopping and following jobs ----------------------------------------------


def start_run(config: TrainConfig, client: str | None = None) -> str | None:
    """Queue a new run; the reason it cannot start (a cap, the lab is full, no class
    drawings to train on), or None."""
    drawings, problem = training_drawings(config)
    problem = problem or job_manager().admission_problem(config, client)
    if problem is not None:
        return problem
    lab = current_lab()
    stored = None
    if lab is not None:
        try:
            stored = guarded(lambda engine: run_store.add_run(engine, lab.id, config, QUEUED), None)
        except RunLimitReached as full:
            return str(full)
    for run in runs():
        run.drop_heavy_parts()
    number = stored.number if stored is not None else max((r.number for r in runs()), default=0) + 1
    run = Run(number=number, config=config, run_id=None if stored is None else stored.id)
    runs().append(run)
    try:
        run.job_id = job_manager().submit(
            JobRequest(config, tag=run.run_id, class_drawings=drawings),
            session_owner(),
            client=client,
        )
    except JobRefused as refused:  # a cap reached since the check above
        runs().remove(run)
        if lab is not None and run.run_id is not None:
            guarded(lambda engine: run_store.delete_runs(engine, lab.id, [run.run_id]), None)
        return str(refused)
    _remember_active(run.run_id)
    return None


def _remember_active(run_id: str | None) -> None:
    """Which run answers on the Draw page, for the next visit."""
    lab = st.session_state.get(LAB)
    if lab is not None and lab.active_run != run_id:
        guarded(lambda engine: lab_store.set_active_run(engine, lab.id, run_id), None)
        st.session_state[LAB] = lab_store.Lab(
            lab.id, lab.code, lab.created_at, lab.touched_at, run_id
        )


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


@dataclass(frozen=True)
class ButtonStates:
    """What the Train page's buttons may do now."""

    training: bool
    # What a cap says against a new run of the chosen setup (Train is disabled if anything).
    cap: str | None
    # Why Continue cannot go on (the chosen setup's problem if it is not a valid setup).
    blocked: str | None


def button_states(chosen: TrainConfig | str) -> ButtonStates:
    """The buttons' states for the chosen setup, or for the message that says why it is not one."""
    from ui.estimate import run_problem

    run = latest_run()
    training = run is not None and run.training
    valid = isinstance(chosen, TrainConfig)
    cap = run_problem(chosen) if valid and not training else None
    blocked = (continue_problem(chosen) or cap) if valid else chosen
    return ButtonStates(training, cap, blocked)


def press(
    chosen: TrainConfig | str,
    buttons: ButtonStates,
    train: bool,
    go_on: bool,
    client: str | None = None,
) -> tuple[str, str] | None:
    """Start what a press of Train (`train`) or Continue (`go_on`) asks for, if its button was
    enabled; the refusal's message and icon, or None."""
    if train and isinstance(chosen, TrainConfig) and not buttons.training and not buttons.cap:
        refused = start_run(chosen, client=client)
        return None if refused is None else (refused, ":material/inventory_2:")
    if go_on and isinstance(chosen, TrainConfig) and buttons.blocked is None:
        refused = continue_run(chosen, client=client)
        return None if refused is None else (refused, ":material/timer_off:")
    return None


def continue_run(config: TrainConfig, client: str | None = None) -> str | None:
    """Train the latest run's weights further; the reason a cap refuses it, or None."""
    run = latest_run()
    if run is None or continue_problem(config) is not None:
        return None
    drawings, problem = training_drawings(config)
    if problem is not None:
        return problem
    same_optimizer = config.optimizer == run.config.optimizer
    request = JobRequest(
        config,
        class_drawings=drawings,
        initial=run.result_weights,
        first_epoch=len(run.history) + 1,
        optimizer_state=run.optimizer_state if same_optimizer else None,
        tag=run.run_id,
    )
    lab = st.session_state.get(LAB)

    def store_status(status: str, message: str | None, settings: TrainConfig) -> None:
        if lab is not None and run.run_id is not None:
            guarded(
                lambda engine: run_store.set_status(
                    engine, lab.id, run.run_id, status, message, config=settings
                ),
                None,
            )

    # Stored before the job exists, so that the job's own records always come after it.
    store_status(QUEUED, None, config)
    try:
        job_id = job_manager().submit(request, session_owner(), client=client)
    except JobRefused as refused:
        store_status(run.status, run.message, run.config)
        return str(refused)
    run.config = config
    run.earlier_epochs = len(run.history)
    run.status = QUEUED
    run.message = None
    run.job_id = job_id
    _remember_active(run.run_id)
    return None


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
    _remember_active(None)


def publish(run: Run, weights: NetworkWeights, training: bool) -> None:
    """Let the Draw page answer with these weights of `run` (`training`: still improving)."""
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
