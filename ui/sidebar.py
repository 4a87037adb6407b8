"""The sidebar every page shares: which model answers on the Draw page, and the lab's resume code."""

from __future__ import annotations

import streamlit as st

from model.config import describe
from ui.lab import current_lab
from ui.runs import current_model

LAB_PAGE = "app_pages/lab.py"


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
            st.page_link(LAB_PAGE, label="My lab", icon=":material/inventory_2:")
