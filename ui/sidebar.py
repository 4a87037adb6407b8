"""The sidebar every page shares: which model answers on the Draw page, the lab's resume code, its class."""

from __future__ import annotations

import streamlit as st

from model.config import describe
from ui.classroom import my_membership
from ui.lab import current_lab
from ui.run_sync import current_model
from ui.text import plain


def render_sidebar() -> None:
    active = current_model()
    lab = current_lab()
    with st.sidebar:
        st.caption("Model answering on the Draw page")
        label = "Your model" if active.source == "session" else "Bundled model"
        if active.training:
            label += " (still training)"
        st.markdown(f"**{label}**  \n{describe(active.config)}")
        if lab is not None:
            st.caption("Your lab's resume code (opens it on another device)")
            st.code(lab.code, language=None)
        joined = my_membership()
        if joined is not None:
            class_space, member = joined
            sharing = "your finished runs are shared" if member.share_runs else "not sharing runs"
            st.caption(f"In class {class_space.join_code} as {plain(member.nickname)}: {sharing}")
