"""The class board's parts: roster, every shared run as a point, the best runs, the leaderboard,
the gallery."""

from __future__ import annotations

import functools
import io

import numpy as np
import streamlit as st
from PIL import Image

from model.challenges import CHALLENGE_TITLES, BoardRun, best_by_student, leaderboard
from model.config import INPUT_SIDE, describe
from model.url_settings import share_url
from store.board_snapshot import BoardSnapshot
from ui.classroom import page_address
from ui.images import pixel_grid
from ui.share import TRAIN_PAGE_SLUG
from ui.text import plain

GALLERY_SHOWN = 60
# Each of the 20×20 pixels as a 4×4 square, grid lines included.
TILE_CELL = 4
TILE_SIDE = INPUT_SIDE * TILE_CELL + 1


def render_board(snapshot: BoardSnapshot) -> None:
    """One refresh of the whole board."""
    st.caption(f"Join code **{snapshot.class_space.join_code}** · updates every few seconds")
    render_roster(snapshot)
    chart, leaders = st.columns([3, 2])
    with chart:
        st.subheader("Every shared run")
        render_runs_chart(snapshot)
    with leaders:
        st.subheader("Challenge")
        render_leaderboard(snapshot)
    st.subheader("Each student's best run")
    render_best_runs(snapshot)
    st.subheader("Our class's handwriting")
    render_gallery(snapshot)


def render_roster(snapshot: BoardSnapshot) -> None:
    training = sum(entry.state == "training" for entry in snapshot.roster)
    done = sum(entry.state == "done" for entry in snapshot.roster)
    joined, busy, finished, drawings = st.columns(4)
    joined.metric("Students", len(snapshot.roster))
    busy.metric("Training now", training)
    finished.metric("Finished a run", done)
    drawings.metric("Class drawings", len(snapshot.gallery))
    if snapshot.roster:
        st.dataframe(
            [
                {
                    "Nickname": entry.nickname,
                    "State": entry.state
                    if entry.state != "training" or entry.epoch is None
                    else f"training · epoch {entry.epoch}",
                }
                for entry in snapshot.roster
            ],
            hide_index=True,
            width="stretch",
            height=min(400, 36 + 35 * len(snapshot.roster)),
        )


def render_runs_chart(snapshot: BoardSnapshot) -> None:
    runs = snapshot.runs
    if not runs:
        st.caption("No shared run yet: finished runs appear here by themselves.")
        return
    scored = any(run.class_accuracy is not None for run in runs)
    measure = "Accuracy on the class's drawings" if scored else "MNIST test accuracy"
    # Plain field names: Vega reads a quote or a dot in one as part of an expression.
    points = [
        {
            "parameters": run.parameters,
            "accuracy": run.class_accuracy if scored else run.test_accuracy,
            "mnist": run.test_accuracy,
            "activation": run.config.activation,
            "student": run.nickname,
            "settings": describe(run.config),
            "epochs": run.epochs,
        }
        for run in runs
        if run.class_accuracy is not None or not scored
    ]
    st.vega_lite_chart(
        {
            "data": {"values": points},
            "mark": {"type": "point", "filled": True, "size": 120, "opacity": 0.8},
            "encoding": {
                "x": {
                    "field": "parameters",
                    "type": "quantitative",
                    "scale": {"type": "log"},
                    "title": "Parameters (log scale)",
                },
                "y": {
                    "field": "accuracy",
                    "type": "quantitative",
                    "axis": {"format": ".0%"},
                    "scale": {"zero": False},
                    "title": measure,
                },
                "color": {"field": "activation", "type": "nominal", "title": "Activation"},
                "tooltip": [
                    {"field": "student", "type": "nominal", "title": "Student"},
                    {"field": "settings", "type": "nominal", "title": "Settings"},
                    {"field": "epochs", "type": "quantitative", "title": "Epochs"},
                    {
                        "field": "accuracy",
                        "type": "quantitative",
                        "format": ".1%",
                        "title": measure,
                    },
                    {
                        "field": "mnist",
                        "type": "quantitative",
                        "format": ".1%",
                        "title": "MNIST test",
                    },
                ],
            },
        },
        width="stretch",
    )


def train_link(run: BoardRun) -> str:
    return share_url(page_address(TRAIN_PAGE_SLUG), run.config)


def render_best_runs(snapshot: BoardSnapshot) -> None:
    best = best_by_student(snapshot.runs)
    if not best:
        return
    st.dataframe(
        [
            {
                "Student": run.nickname,
                "Run": run.number,
                "Settings": describe(run.config),
                "Parameters": run.parameters,
                "Class drawings": run.class_accuracy,
                "MNIST test": run.test_accuracy,
                "Open these settings": train_link(run),
            }
            for run in best
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "Class drawings": st.column_config.NumberColumn(format="percent"),
            "MNIST test": st.column_config.NumberColumn(format="percent"),
            "Open these settings": st.column_config.LinkColumn(display_text="Train with these"),
        },
    )


def render_leaderboard(snapshot: BoardSnapshot) -> None:
    challenge = snapshot.class_space.challenge
    st.markdown(f"**{CHALLENGE_TITLES[challenge]}**")
    standings = leaderboard(challenge, snapshot.runs)
    if not standings:
        st.caption("No run qualifies yet.")
        return
    for standing in standings:
        st.markdown(
            f"{standing.rank}\\. **{plain(standing.run.nickname)}** · {standing.score} · "
            f"run {standing.run.number}, {plain(describe(standing.run.config))}"
        )


def render_gallery(snapshot: BoardSnapshot) -> None:
    items = snapshot.gallery
    if not items:
        st.caption("No approved drawing yet. Students add them from the Draw page.")
        return
    wrong = sum(not item.correct for item in items)
    st.caption(
        f"{len(items)} drawing{'' if len(items) == 1 else 's'}; the bundled model reads "
        f"{len(items) - wrong} correctly. "
        "The ones it gets wrong come first."
    )
    shown = items[:GALLERY_SHOWN]
    # One element for the whole gallery, of PNGs made once per drawing: the board redraws it
    # every few seconds for the projector.
    st.image(
        [_tile_png(item.drawing.pixels.tobytes()) for item in shown],
        caption=[
            f"{'✓' if item.correct else '✗'} meant {item.drawing.label}, read {item.answer}"
            for item in shown
        ],
        width=TILE_SIDE,
    )


@functools.lru_cache(maxsize=4096)
def _tile_png(pixels: bytes) -> bytes:
    """A drawing (its raw float32 20×20 pixels) as the PNG the gallery shows."""
    image = np.frombuffer(pixels, dtype=np.float32).reshape(INPUT_SIDE, INPUT_SIDE)
    buffer = io.BytesIO()
    Image.fromarray(pixel_grid(image, TILE_CELL)).save(buffer, format="PNG")
    return buffer.getvalue()
