"""The Draw page's inputs (brush, canvas, upload, an image sent from Data) and its answer block."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from model.inference import Answer
from model.preprocess import CANVAS_SIDE, Preprocessed, canvas_from_image28
from model.uploads import ACCEPTED_EXTENSIONS, UploadError, decode_upload
from ui.state import SentImage

MIN_BRUSH, MAX_BRUSH, DEFAULT_BRUSH = 6, 40, 20
# Streamlit refuses bigger files itself; the decoder checks the same number again.
UPLOAD_LIMIT_BYTES = st.get_option("server.maxUploadSize") * 1024 * 1024
NO_ANSWER = "–"
# Long enough for the browser to draw the answer before the explanations' fifty-odd elements
# arrive: sent straight after it, they were rendered in the same long task (100-250 ms in
# Chromium's long-task timings), and the answer appeared only after all of them.
ANSWER_PAINT_SECONDS = 0.08


@dataclass(frozen=True)
class DrawnInput:
    """The picture to read (RGBA, never None), where it came from, and why an upload failed.

    `upload` marks a decoded photo or scan, whose digit is judged too small by its own pixels.
    """

    rgba: np.ndarray
    source: str
    problem: str | None = None
    upload: bool = False


def brush_slider() -> int:
    return st.slider("Brush width", MIN_BRUSH, MAX_BRUSH, DEFAULT_BRUSH, key="brush_width")


def given_picture(sent: SentImage | None) -> DrawnInput | None:
    """An image sent from Data, else an uploaded file (decoded here), else None: the canvas."""
    st.caption(
        "White ink on black, like the MNIST pictures the network learned from. "
        "Undo and clear are in the canvas's toolbar."
    )
    uploaded = st.file_uploader(
        "…or upload a picture of a 0 or a 1 (PNG or JPEG; dark ink on white paper works too)",
        type=list(ACCEPTED_EXTENSIONS),
        key="upload",
    )
    if sent is not None:
        return DrawnInput(canvas_from_image28(sent.image28), sent.caption)
    if uploaded is None:
        return None
    source = f"the uploaded file {uploaded.name}"
    try:
        decoded = decode_upload(uploaded.getvalue(), max_bytes=UPLOAD_LIMIT_BYTES)
        return DrawnInput(decoded.rgba, source, upload=True)
    except UploadError as error:
        return DrawnInput(
            np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8), source, str(error)
        )


def canvas_input(brush: int, given: DrawnInput | None) -> DrawnInput:
    """The canvas; what it holds is read unless a picture was given instead."""
    from streamlit_drawable_canvas import st_canvas

    drawing = st_canvas(
        stroke_width=brush,
        stroke_color="#FFFFFF",
        background_color="#000000",
        width=CANVAS_SIDE,
        height=CANVAS_SIDE,
        drawing_mode="freedraw",
        return_image_data=True,
        key="draw_canvas",
    )
    if given is not None:
        return given
    rgba = drawing.image_data
    if rgba is None:
        rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    return DrawnInput(rgba, "your drawing")


def let_the_answer_paint() -> None:
    """Hold the script back a moment, so the answer is on screen before the explanations come."""
    time.sleep(ANSWER_PAINT_SECONDS)


def show_answer(answer: Answer | None, steps: Preprocessed, drawn: DrawnInput) -> None:
    """The prediction first (it is what the learner waits for), then why it is uncertain."""
    if answer is None:
        st.metric("Prediction", NO_ANSWER)
        st.caption(f"Reading {drawn.source}.")
        if drawn.problem is not None:
            st.error(drawn.problem)
        else:
            st.info(steps.message)
        return
    st.metric(
        "Prediction",
        str(answer.digit),
        delta="uncertain" if answer.uncertain else None,
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(f"Reading {drawn.source}.")
    st.progress(answer.probability, text=f"Probability that it is a 1: {answer.probability:.1%}")
    if answer.uncertain:
        st.warning(answer.explanation())
