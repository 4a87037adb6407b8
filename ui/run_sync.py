"""Keeping the session's latest run in step with its job, and the model the pages answer with."""

from __future__ import annotations

import streamlit as st

from model.evaluation import predict_test
from model.jobs import DATASET_ERROR, DONE, FAILED, JobView
from store import runs as run_store
from store.recorder import outcome
from store.runs import ACTIVE_STATUSES
from ui.job_pool import job_manager
from ui.lab import LAB, guarded, lab_database
from ui.runs import (
    DATASET_FALLBACK,
    FLUSH_SECONDS,
    Run,
    latest_run,
    publish,
    run_from_store,
)
from ui.state import SESSION_MODEL, ActiveModel, bundled_model

# A job this session started that the server no longer knows, with no reason recorded.
LOST_MESSAGE = "The training job was lost: the server restarted. Press Train again."


def current_model() -> ActiveModel:
    """The session's latest trained weights if it has any, else the bundled pretrained model.

    A run still training answers with its newest weights snapshot (`training=True`),
    refreshed from the job queue on every call, whichever page the learner is on.
    """
    sync()
    own = st.session_state.get(SESSION_MODEL)
    return own if own is not None else bundled_model()


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
        reason = manager.gone_reason(run.job_id)
        run.job_id = None
        # Another tab collected the job, or it ended while this tab was away long enough for
        # the pool to forget it (a tab starved of CPU or network): the lab kept its end.
        if _reload_finished(run):
            if reason is not None and run.status != DONE:
                run.message = reason
            return None
        run.message = reason or LOST_MESSAGE
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
            publish(run, view.weights, training=True)
    if view.finished:
        _finish(run, view)
        manager.forget(view.job_id)
    return view


def _reload_finished(run: Run) -> bool:
    """Take a run's end from the store when another tab of the same lab collected the job first."""
    lab = st.session_state.get(LAB)
    recorder = lab_database().recorder
    if lab is None or run.run_id is None or recorder is None:
        return False
    recorder.flush(FLUSH_SECONDS)
    stored = guarded(lambda engine: run_store.load_run(engine, lab.id, run.run_id), None)
    if stored is None or stored.status in ACTIVE_STATUSES:
        return False
    loaded = run_from_store(stored)
    for name in (
        "config",
        "history",
        "status",
        "message",
        "test_accuracy",
        "result_weights",
        "optimizer_state",
        "keras_file",
        "test",
    ):
        setattr(run, name, getattr(loaded, name))
    run.earlier_epochs = 0
    if run.result_weights is not None:
        publish(run, run.result_weights, training=False)
    return True


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
        run.status, run.message = outcome(view)
    else:
        # The weights are the last snapshot the job sent; nothing was measured on them.
        run.optimizer_state = None
        run.keras_file = None
        run.test = None
        run.test_accuracy = None
    if view.error_kind == DATASET_ERROR:
        st.session_state[DATASET_FALLBACK] = True
    if run.result_weights is not None:
        publish(run, run.result_weights, training=False)
