"""The board page's refresh timed in this process: `board_snapshot` and the `ui/board.py` renderers."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

REFRESH_REPEATS = 20


def board_refresh(engine, class_id: str, bundled) -> object:
    """What app_pages/board.py's fragment does, minus the database guard (see the docstring of
    bench/class_board.py)."""
    from store.board_snapshot import board_snapshot
    from ui.board import render_board

    snapshot = board_snapshot(engine, class_id, bundled)
    render_board(snapshot)
    return snapshot


def measure_board(database_file: Path, teacher_key: str) -> tuple[object, float, float]:
    """The final snapshot, and the median ms of a whole refresh and of the snapshot alone."""
    import logging

    import streamlit  # noqa: F401  (its loggers exist once it is imported)

    # Bare mode warns on every element; the elements are still built.
    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).disabled = True
    from model.storage import load_pretrained
    from store.board_snapshot import board_snapshot
    from store.classes import class_for_teacher
    from store.database import make_engine

    engine = make_engine(f"sqlite:///{database_file}")
    try:
        bundled = load_pretrained().weights
        class_id = class_for_teacher(engine, teacher_key).id
        snapshot = board_refresh(engine, class_id, bundled)  # scores left to compute, if any
        timings: dict[str, list[float]] = {"refresh": [], "snapshot": []}
        for _ in range(REFRESH_REPEATS):
            started = time.perf_counter()
            board_refresh(engine, class_id, bundled)
            timings["refresh"].append(time.perf_counter() - started)
            started = time.perf_counter()
            board_snapshot(engine, class_id, bundled)
            timings["snapshot"].append(time.perf_counter() - started)
    finally:
        engine.dispose()
    refresh, alone = (statistics.median(timings[name]) * 1000 for name in ("refresh", "snapshot"))
    return snapshot, refresh, alone
