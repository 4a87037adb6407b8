"""Zero-or-One Lab's entry point: the page router and the shared sidebar."""

from __future__ import annotations

import streamlit as st

# (script, title, icon) of each page in menu order; the first is the home page.
PAGES = (
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/data.py", "Data", ":material/grid_view:"),
    ("app_pages/train.py", "Train", ":material/model_training:"),
    ("app_pages/draw.py", "Draw", ":material/draw:"),
    ("app_pages/under_the_hood.py", "Under the hood", ":material/neurology:"),
)


def pages() -> list[st.Page]:
    return [
        st.Page(script, title=title, icon=icon, default=index == 0)
        for index, (script, title, icon) in enumerate(PAGES)
    ]


def run() -> None:
    st.set_page_config(
        page_title="Zero-or-One Lab", page_icon=":material/neurology:", layout="wide"
    )
    navigation = st.navigation(pages())
    from ui.runs import prewarm_training
    from ui.state import render_sidebar

    render_sidebar()
    try:
        navigation.run()
    finally:
        prewarm_training()


if __name__ == "__main__":
    run()
