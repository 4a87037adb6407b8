"""Beside the Train button: how long this run takes on this server, and the caps that stop it."""

from __future__ import annotations

import streamlit as st

from model.config import TrainConfig
from model.limits import format_duration, long_run_warning
from ui.job_pool import job_manager
from ui.lab import client_address

# Waits shorter than this are not worth a mention.
NOTABLE_WAIT_SECONDS = 2.0


def run_problem(config: TrainConfig) -> str | None:
    """What a cap says against starting this run now; the Train button is disabled if any."""
    return job_manager().admission_problem(config, client_address())


def render_estimate(config: TrainConfig, problem: str | None) -> None:
    """'Expected time: about 3 s' (and the wait for a worker), a warning for a long run, or
    the cap's message saying what to lower."""
    if problem is not None:
        st.error(problem, icon=":material/timer_off:")
        return
    manager = job_manager()
    work, wait = manager.estimate(config)
    text = f"Expected training time on this server: {format_duration(work)}"
    if wait is not None and wait >= NOTABLE_WAIT_SECONDS:
        text += f", after {format_duration(wait)} waiting for a free training process"
    st.caption(text + ".", help="Measured on this server as its training processes work.")
    warning = long_run_warning(config, manager.cost)
    if warning is not None:
        st.warning(warning, icon=":material/hourglass_top:")
