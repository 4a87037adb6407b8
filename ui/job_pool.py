"""The server's one pool of training processes, and whose jobs are whose (browser sessions)."""

from __future__ import annotations

import streamlit as st

from model.jobs import JobManager
from ui.lab import lab_database

# Seconds from the first page view until the worker processes start and import TensorFlow on
# every core (a Train press starts them at once): the browser has drawn that page by then.
PREWARM_DELAY_SECONDS = 3.0


def _session_alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not session_id or not Runtime.exists():
        return True
    return bool(Runtime.instance().is_active_session(session_id))


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One pool of training processes for the whole server; what it trains goes to the store."""
    return JobManager(
        owner_alive=_session_alive,
        start_delay=PREWARM_DELAY_SECONDS,
        recorder=lab_database().recorder,
    )


def prewarm_training() -> None:
    """Start the pool after the first page view, so its workers import TensorFlow while the
    learner reads (not after the first Train press) and not while the browser draws the page."""
    job_manager()


def session_owner() -> str:
    """This browser session's id: the owner of the jobs it starts."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else ""
