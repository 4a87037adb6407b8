"""Zero-or-One Lab's entry point: the page router, the shared sidebar and the server's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
from collections.abc import AsyncIterator

import streamlit as st

# (script, title, icon) of each page in menu order; the first is the home page.
PAGES = (
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/data.py", "Data", ":material/grid_view:"),
    ("app_pages/train.py", "Train", ":material/model_training:"),
    ("app_pages/draw.py", "Draw", ":material/draw:"),
    ("app_pages/under_the_hood.py", "Under the hood", ":material/neurology:"),
)

# Modules the pages import, and pandas: Streamlit imports it to serialise the canvas's arguments.
IMPORT_AHEAD = (
    "pandas",
    "model.inference",
    "model.preprocess",
    "model.uploads",
    "ui.drawing",
    "ui.explain",
    "ui.images",
    "ui.runs",
    "ui.training",
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


def import_ahead() -> None:
    """Import what the pages need while the first browser is still loading Streamlit's front
    end, instead of during the first page's run."""
    for name in IMPORT_AHEAD:
        importlib.import_module(name)


@contextlib.asynccontextmanager
async def server_lifespan(_app: st.App) -> AsyncIterator[None]:
    """Once per server: import ahead on start; stop the training workers on shutdown."""
    threading.Thread(target=import_ahead, name="zol-import-ahead", daemon=True).start()
    yield
    from model.jobs import shutdown_all

    await asyncio.to_thread(shutdown_all)


if __name__ == "__main__":
    run()
else:
    # `streamlit run app.py` finds this App and serves it, which is what runs `server_lifespan`;
    # the server then runs this file as `__main__` for every page view.
    app = st.App(__file__, lifespan=server_lifespan)
