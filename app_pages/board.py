"""Class board: made for the projector, it follows the class by itself every few seconds."""

import streamlit as st

from store.board_snapshot import board_snapshot
from ui.board import render_board
from ui.classroom import CLASS_PAGE, my_membership, teacher_class
from ui.lab import guarded
from ui.navigation import page_link
from ui.state import pretrained_model

# Thirty students' runs arrive within minutes: a few seconds keeps the projector current.
REFRESH_SECONDS = 4

st.title("Class board")
taught = teacher_class(keep_in_url=True)
joined = my_membership() if taught is None else None
if taught is None and joined is None:
    st.info(
        "The board belongs to a class: open it from your teacher link, or join a class first.",
        icon=":material/groups:",
    )
    page_link(CLASS_PAGE, label="Go to the Class page", icon=":material/school:")
    st.stop()
class_id = (taught or joined)[0].id


@st.fragment(run_every=REFRESH_SECONDS)
def board() -> None:
    snapshot = guarded(
        lambda engine: board_snapshot(engine, class_id, pretrained_model().weights), None
    )
    if snapshot is None:
        st.warning("The class is gone: it was deleted or it expired.", icon=":material/link_off:")
        return
    render_board(snapshot)


board()
