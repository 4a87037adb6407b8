"""Zero-or-One Lab's entry point: the page router and the shared sidebar."""

from __future__ import annotations

import streamlit as st


def pages() -> list[st.Page]:
    return [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ]


def run() -> None:
    st.set_page_config(
        page_title="Zero-or-One Lab", page_icon=":material/neurology:", layout="wide"
    )
    navigation = st.navigation(pages())
    from ui.state import render_sidebar

    render_sidebar()
    navigation.run()


if __name__ == "__main__":
    run()
