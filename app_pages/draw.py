"""Draw: sketch a 0 or a 1, see each step of what the network sees, and get an honest answer."""

import numpy as np
import streamlit as st

from model.inference import (
    NOVELTY_QUANTILE,
    ONLY_ZERO_OR_ONE,
    UNSURE_HIGH,
    UNSURE_LOW,
    TrainingNeighbours,
    classify,
)
from model.preprocess import CANVAS_SIDE, canvas_from_image28, preprocess
from model.uploads import ACCEPTED_EXTENSIONS, UploadError, decode_upload
from ui.images import show_activations, show_pixels, show_xray
from ui.lab_panel import render_keep_drawing
from ui.runs import current_model
from ui.state import LAST_DRAWING, SENT_TO_DRAW, dataset_splits

MIN_BRUSH, MAX_BRUSH, DEFAULT_BRUSH = 6, 40, 20
# Streamlit refuses bigger files itself; the decoder checks the same number again.
UPLOAD_LIMIT_BYTES = st.get_option("server.maxUploadSize") * 1024 * 1024
NO_ANSWER = "–"


@st.cache_resource(show_spinner=False)
def training_neighbours() -> TrainingNeighbours:
    splits = dataset_splits("bundled")
    return TrainingNeighbours.calibrated(splits.train.x, splits.validation.x)


st.title("Draw a 0 or a 1")
active = current_model()
st.markdown(f"Answering now: **{active.description}**.")
if active.training:
    st.caption("It is still training: every new answer uses its latest weights.")
st.page_link("app_pages/train.py", label="Train your own network", icon=":material/model_training:")

sent = st.session_state.get(SENT_TO_DRAW)
if sent is not None:
    st.info(f"Showing {sent.caption} (labelled {sent.label}) sent from the Data page.")
    st.button(
        "Clear it and use my drawing",
        key="clear_sent",
        on_click=st.session_state.pop,
        args=(SENT_TO_DRAW, None),
    )

drawing_column, answer_column = st.columns(2)
with drawing_column:
    from streamlit_drawable_canvas import st_canvas

    brush = st.slider("Brush width", MIN_BRUSH, MAX_BRUSH, DEFAULT_BRUSH, key="brush_width")
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
    st.caption(
        "White ink on black, like the MNIST pictures the network learned from. "
        "Undo and clear are in the canvas's toolbar."
    )
    uploaded = st.file_uploader(
        "…or upload a picture of a 0 or a 1 (PNG or JPEG; dark ink on white paper works too)",
        type=list(ACCEPTED_EXTENSIONS),
        key="upload",
    )

rgba, source, upload_problem = drawing.image_data, "your drawing", None
if sent is not None:
    rgba, source = canvas_from_image28(sent.image28), sent.caption
elif uploaded is not None:
    source = f"the uploaded file {uploaded.name}"
    try:
        rgba = decode_upload(uploaded.getvalue(), max_bytes=UPLOAD_LIMIT_BYTES).rgba
    except UploadError as error:
        rgba, upload_problem = None, str(error)
if rgba is None:
    rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)

answer_area = answer_column.container()

st.subheader("Preprocessing X-ray")
st.markdown(
    "Before the network sees anything, the drawing is made to look like an MNIST digit. "
    "Switch a step off to see why it is there."
)
crop_switch, centre_switch = st.columns(2)
crop = crop_switch.toggle("Crop to the ink's bounding box", value=True, key="crop")
centre = centre_switch.toggle("Centre by centre of mass", value=True, key="centre")
steps = preprocess(rgba, crop=crop, centre=centre)
# The training images are only needed to judge a drawing, not to show an empty canvas.
answer = None
if steps.features is not None:
    answer = classify(active.weights, steps.features, training_neighbours())
show_xray(steps)

with answer_area:
    st.caption(f"Reading {source}.")
    if answer is None:
        st.metric("Prediction", NO_ANSWER)
        if upload_problem is not None:
            st.error(upload_problem)
        else:
            st.info(steps.message)
    else:
        st.session_state[LAST_DRAWING] = steps.features.astype(np.float32)
        st.metric(
            "Prediction",
            str(answer.digit),
            delta="uncertain" if answer.uncertain else None,
            delta_color="off",
            delta_arrow="off",
        )
        st.progress(
            answer.probability, text=f"Probability that it is a 1: {answer.probability:.1%}"
        )
        if answer.uncertain:
            st.warning(answer.explanation())
        show_pixels(steps.network_input, "What the network sees: 20×20 = 400 numbers", 14)
        render_keep_drawing(steps.network_input)

if answer is not None:
    st.subheader("Inside the network")
    st.markdown(
        f"The 400 numbers flow through the hidden layers ({active.config.activation} units; "
        "bright = strongly active) to one output: the probability that the digit is a 1."
    )
    show_activations(answer.layers, active.config.activation)

with st.expander("When is an answer marked uncertain?"):
    st.markdown(
        f"- When the probability is between {UNSURE_LOW} and {UNSURE_HIGH}: the network "
        "itself cannot decide.\n"
        "- When the drawing is far from every training image: its distance (over the 400 "
        "pixels, slightly blurred) to the nearest training image is larger than for "
        f"{NOVELTY_QUANTILE:.0%} of the real digits the network never saw during training. "
        "A scribble, a letter or a filled square lands here.\n\n" + ONLY_ZERO_OR_ONE
    )
