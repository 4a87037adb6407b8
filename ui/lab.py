"""The learner's lab: the server's one lab database, and which lab this session has open."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from store.database import DATABASE_URL_ENV, StoreError, make_engine
from store.labs import Lab, create_lab, find_lab, touch_lab
from store.recorder import Recorder

# The address bar's parameter that names the lab, on every page.
LAB_PARAM = "lab"
# Session keys: the open lab; a notice to show once (e.g. the link's lab did not exist).
LAB = "lab"
LAB_NOTICE = "lab_notice"
UNAVAILABLE_MESSAGE = (
    "Your work is not being saved: the lab database is unavailable ({detail}). "
    "Training and drawing still work in this tab."
)
SAVE_FAILED_MESSAGE = "This could not be saved: the lab database did not answer. Try again."
DELETED_ELSEWHERE_MESSAGE = "This lab was deleted (perhaps in another tab); here is a fresh one."
UNKNOWN_LAB_MESSAGE = (
    "The lab in this link does not exist (it was deleted, expired, or the link is mistyped), "
    "so here is a fresh lab. A resume code on the My lab page opens a lab you saved."
)

# Behind a proxy every learner has the proxy's address: with this set to 1, the first address
# of the X-Forwarded-For header counts instead (only safe when the proxy always sets it: a
# client could otherwise write its own and escape the per-address limits).
TRUST_FORWARDED_ENV = "ZOL_TRUST_FORWARDED_FOR"
FORWARDED_HEADER = "X-Forwarded-For"

Result = TypeVar("Result")


def client_address() -> str | None:
    """The learner's computer as the server sees it, for limits per address; None if unknown."""
    if os.environ.get(TRUST_FORWARDED_ENV) == "1":
        forwarded = st.context.headers.get(FORWARDED_HEADER)
        if isinstance(forwarded, str) and forwarded.strip():
            return forwarded.split(",")[0].strip()[:128]
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


@dataclass(frozen=True)
class LabDatabase:
    """The engine and the recorder that writes training jobs' checkpoints; or why there is none."""

    engine: Engine | None
    recorder: Recorder | None
    error: str | None = None


@st.cache_resource(show_spinner=False)
def lab_database() -> LabDatabase:
    """One engine per server, its schema created on first start (SQLite file in `data/`)."""
    try:
        engine = make_engine(_secret_url())
    except StoreError as error:
        traceback.print_exc()
        return LabDatabase(None, None, str(error))
    return LabDatabase(engine, Recorder(engine))


def _secret_url() -> str | None:
    """`ZOL_DATABASE_URL` from the app's secrets (Community Cloud's settings), if it is there."""
    if os.environ.get(DATABASE_URL_ENV):
        return None
    try:
        url = st.secrets.get(DATABASE_URL_ENV)
    except Exception:  # no secrets file at all: the usual case when run locally
        return None
    return url if isinstance(url, str) and url else None


def database() -> Engine | None:
    return lab_database().engine


def guarded(action: Callable[[Engine], Result], fallback: Result) -> Result:
    """Run one unit of store work; a database that fails shows a message and loses nothing else."""
    engine = database()
    if engine is None:
        return fallback
    try:
        return action(engine)
    except SQLAlchemyError:
        traceback.print_exc()
        st.toast(SAVE_FAILED_MESSAGE, icon=":material/cloud_off:")
    except LookupError:
        # Deleted from another tab: this tab goes on with a fresh lab on its next run.
        st.session_state.pop(LAB, None)
        st.session_state[LAB_NOTICE] = DELETED_ELSEWHERE_MESSAGE
    return fallback


def current_lab() -> Lab | None:
    """The session's lab: from the address bar on the session's first run, else a new one.

    None only when there is no database; the app then works as before, in the tab alone.
    """
    if LAB in st.session_state:
        return st.session_state[LAB]
    engine = database()
    if engine is None:
        return None
    asked = st.query_params.get(LAB_PARAM)
    lab = guarded(lambda engine: _open_or_create(engine, asked), None)
    st.session_state[LAB] = lab
    return lab


def _open_or_create(engine: Engine, asked: str | None) -> Lab:
    if asked:
        found = find_lab(engine, asked)
        if found is not None:
            return touch_lab(engine, found)
        st.session_state[LAB_NOTICE] = UNKNOWN_LAB_MESSAGE
    return create_lab(engine)


def keep_lab_in_url(lab: Lab | None) -> None:
    """Put the lab's id back in the address bar (moving between pages drops it), so that a
    reload or a bookmark opens the same lab."""
    if lab is not None and st.query_params.get(LAB_PARAM) != lab.id:
        st.query_params[LAB_PARAM] = lab.id


def url_params_with_lab(params: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
    lab = st.session_state.get(LAB)
    return params if lab is None else {**params, LAB_PARAM: lab.id}


def show_lab_notices() -> None:
    notice = st.session_state.pop(LAB_NOTICE, None)
    if notice:
        st.warning(notice, icon=":material/link_off:")
    error = lab_database().error
    if error:
        st.warning(UNAVAILABLE_MESSAGE.format(detail=error), icon=":material/cloud_off:")
