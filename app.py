"""Zero-or-One Lab's entry point: the page router, the shared sidebar and the server's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import AsyncIterator

import streamlit as st

# (script, title, icon) of each page in menu order; the first is the home page.
PAGES = (
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/data.py", "Data", ":material/grid_view:"),
    ("app_pages/train.py", "Train", ":material/model_training:"),
    ("app_pages/draw.py", "Draw", ":material/draw:"),
    ("app_pages/under_the_hood.py", "Under the hood", ":material/neurology:"),
    ("app_pages/lab.py", "My lab", ":material/inventory_2:"),
    ("app_pages/classroom.py", "Class", ":material/school:"),
    ("app_pages/board.py", "Class board", ":material/co_present:"),
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
    "ui.run_sync",
    "ui.training",
    "store.labfile",
)
# Labs and classes untouched for the retention period are deleted at start and then once a day.
CLEANUP_INTERVAL_SECONDS = 86400.0


def pages() -> list[st.Page]:
    return [
        st.Page(script, title=title, icon=icon, default=index == 0)
        for index, (script, title, icon) in enumerate(PAGES)
    ]


def run() -> None:
    st.set_page_config(
        page_title="Zero-or-One Lab", page_icon=":material/neurology:", layout="wide"
    )
    menu = pages()
    navigation = st.navigation(menu, position="hidden")
    from ui.job_pool import prewarm_training
    from ui.lab import current_lab, keep_lab_in_url, show_lab_notices
    from ui.navigation import render_menu
    from ui.sidebar import render_sidebar

    lab = current_lab()
    render_menu(menu)
    render_sidebar()
    keep_lab_in_url(lab)
    show_lab_notices()
    try:
        navigation.run()
    finally:
        prewarm_training()


def import_ahead() -> None:
    """Import what the pages need while the first browser is still loading Streamlit's front
    end, instead of during the first page's run."""
    for name in IMPORT_AHEAD:
        importlib.import_module(name)


def delete_expired_labs(stop: threading.Event) -> None:
    """At start and once a day: delete the labs, and the classes, nobody has opened for the
    retention period."""
    from store.classes import delete_expired_classes
    from store.database import make_engine
    from store.labs import delete_expired

    while True:
        try:
            engine = make_engine()
            try:
                delete_expired(engine)
                delete_expired_classes(engine)
            finally:
                engine.dispose()
        except Exception:  # an unreachable database is reported on the pages, not here
            traceback.print_exc()
        if stop.wait(CLEANUP_INTERVAL_SECONDS):
            return


def stop_training_and_save() -> None:
    """Stop the training workers, their last checkpoints written to the lab store first."""
    from model.jobs import shutdown_all
    from store.recorder import flush_all

    shutdown_all()
    flush_all()


@contextlib.asynccontextmanager
async def server_lifespan(_app: st.App) -> AsyncIterator[None]:
    """Once per server: import ahead and expire old labs on start; on shutdown stop the
    training workers and save what they trained."""
    threading.Thread(target=import_ahead, name="zol-import-ahead", daemon=True).start()
    stop_cleanup = threading.Event()
    threading.Thread(
        target=delete_expired_labs, args=(stop_cleanup,), name="zol-lab-cleanup", daemon=True
    ).start()
    yield
    stop_cleanup.set()
    await asyncio.to_thread(stop_training_and_save)


def exit_cleanly_on_sigterm() -> None:
    """Make a SIGTERM that uvicorn re-raises after its graceful shutdown end the process with 0.

    uvicorn catches SIGTERM, runs the lifespan's shutdown, puts back the handler it found and
    raises the signal again; with the default handler the process would die of it (exit 143
    in Docker) although everything had stopped cleanly. `os._exit`, not `sys.exit`: the
    latter would wait for threads of the server that nothing stops any more.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(_signal: int, _frame: object) -> None:
    # Already done by the lifespan when uvicorn caught the signal first; at once otherwise.
    # `os._exit` skips `atexit`, so the training's last checkpoints are written here.
    stop_training_and_save()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    run()
else:
    # `streamlit run app.py` finds this App and serves it, which is what runs `server_lifespan`;
    # the server then runs this file as `__main__` for every page view.
    app = st.App(__file__, lifespan=server_lifespan)
    exit_cleanly_on_sigterm()
