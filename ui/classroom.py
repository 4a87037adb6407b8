"""The session's class: a teacher's key, a student's membership, links and QR codes, and drawings."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from urllib.parse import urlencode

import numpy as np
import streamlit as st
from sqlalchemy import Engine

from model.url_settings import page_url
from store import class_board
from store import classes as class_store
from store.class_rules import ClassError, ClassSpace, Member, TeacherKeyRefused
from store.codes import WRONG_CODE_DELAY_SECONDS
from ui.lab import current_lab, database, guarded
from ui.lab_panel import DIGIT_MEANT
from ui.share import APP_PAGE_SLUGS, DEFAULT_APP_URL
from ui.text import plain

CLASS_PAGE = "app_pages/classroom.py"
BOARD_PAGE = "app_pages/board.py"
CLASS_SLUG = "classroom"
# The address bar's parameters: the teacher's secret key, and a join link's code.
TEACHER_PARAM = "teacher"
JOIN_PARAM = "join"
# Session keys: the teacher key this session was opened with, and its class.
TEACHER_KEY = "teacher_key"
NO_DATABASE_MESSAGE = "Classes need the lab database, which is unavailable right now."


def page_address(slug: str, **params: str) -> str:
    """A page's full address, from the address this session was opened on."""
    address = page_url(st.context.url or DEFAULT_APP_URL, slug, APP_PAGE_SLUGS)
    return f"{address}?{urlencode(params)}" if params else address


def join_address(class_space: ClassSpace) -> str:
    return page_address(CLASS_SLUG, **{JOIN_PARAM: class_space.join_code})


def teacher_address(teacher_key: str, slug: str = CLASS_SLUG) -> str:
    return page_address(slug, **{TEACHER_PARAM: teacher_key})


@st.cache_data(max_entries=64, show_spinner=False)
def qr_png(text: str) -> bytes:
    """A QR code of `text`, big enough to scan from the back of a classroom."""
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=12, border=2)
    return buffer.getvalue()


def teacher_class(keep_in_url: bool = False) -> tuple[ClassSpace, str] | None:
    """The class whose teacher link this session opened, and its key; None for a student.

    The key is checked against the database on every run: a deleted class's link stops
    working at once. A forged or old key shows a refusal and is dropped. Only the Class and
    board pages keep it in the address bar: a Train link copied from there must not carry it.
    """
    asked = st.query_params.get(TEACHER_PARAM)
    if asked:
        st.session_state[TEACHER_KEY] = asked
    key = st.session_state.get(TEACHER_KEY)
    if not key or database() is None:
        return None
    try:
        found = guarded(lambda engine: class_store.class_for_teacher(engine, key), None)
    except TeacherKeyRefused as refused:
        st.session_state.pop(TEACHER_KEY, None)
        st.query_params.pop(TEACHER_PARAM, None)
        st.error(str(refused), icon=":material/gpp_bad:")
        return None
    if found is None:
        return None
    if keep_in_url and st.query_params.get(TEACHER_PARAM) != key:
        st.query_params[TEACHER_PARAM] = key
    return found, key


def my_membership() -> tuple[ClassSpace, Member] | None:
    """The class this session's lab has joined, if any."""
    lab = current_lab()
    if lab is None:
        return None
    return guarded(lambda engine: class_store.membership(engine, lab.id), None)


def run_class_action(
    action: Callable[[Engine], object],
    success: str | None = None,
    slow_down: type[ClassError] | None = None,
) -> bool:
    """Run one class action against the store; a refusal is shown as its message, after a
    second's wait if it is a `slow_down` one (a wrong code: guessing must be slow)."""
    try:
        guarded(action, None)
    except ClassError as refused:
        if slow_down is not None and isinstance(refused, slow_down):
            time.sleep(WRONG_CODE_DELAY_SECONDS)
        # The message may quote what the learner typed.
        st.error(plain(str(refused)), icon=":material/block:")
        return False
    if success:
        st.toast(success, icon=":material/check_circle:")
    return True


def render_add_to_class(network_input: np.ndarray) -> None:
    """On the Draw page, below "Keep": offer the drawing to the learner's class, with the digit
    chosen for keeping. The teacher approves it before anyone else sees it."""
    joined = my_membership()
    if joined is None:
        return
    member = joined[1]
    if not st.button(
        "Add to the class set",
        icon=":material/group_add:",
        key="add_to_class",
        help="Your teacher approves it first; then it is on the board and in the class set.",
    ):
        return
    digit = st.session_state.get(DIGIT_MEANT)
    if digit not in (0, 1):
        st.error("Choose the digit you meant first: 0 or 1.", icon=":material/rule:")
        return
    pixels = np.asarray(network_input, dtype=np.float32)
    if run_class_action(
        lambda engine: class_board.submit_drawing(engine, member.lab_id, pixels, digit)
    ):
        st.success(
            "Sent: it joins the class set once your teacher approves it.",
            icon=":material/outgoing_mail:",
        )
