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
from model.preprocess import preprocess
from ui.classroom import render_add_to_class
from ui.drawing import (
    DrawnInput,
    brush_slider,
    canvas_input,
    given_picture,
    let_the_answer_paint,
    show_answer,
)
from ui.explain import show_hidden_space, show_probes, show_saliency
from ui.images import show_activations, show_pixels, show_xray
from ui.lab_panel import render_keep_drawing
from ui.navigation import page_link
from ui.run_sync import current_model
from ui.state import LAST_DRAWING, SENT_TO_DRAW, dataset_splits


@st.cache_resource(show_spinner=False)
def training_neighbours() -> TrainingNeighbours:
    splits = dataset_splits("bundled")
    return TrainingNeighbours.calibrated(splits.train.x, splits.validation.x)


st.title("Draw a 0 or a 1")
active = current_model()
st.markdown(f"Answering now: **{active.description}**.")
if active.training:
    st.caption("It is still training: every new answer uses its latest weights.")
page_link("app_pages/train.py", label="Train your own network", icon=":material/model_training:")

sent = st.session_state.get(SENT_TO_DRAW)
if sent is not None:
    st.info(f"Showing {sent.caption} (labelled {sent.label}) sent from the Data page.")
    st.button(
        "Clear it and use my drawing",
        key="clear_sent",
        on_click=st.session_state.pop,
        args=(SENT_TO_DRAW, None),
    )

# The widgets other than the canvas live outside the fragment below: changing one reruns the
# page, while a stroke reruns only the fragment, which then redraws nothing it does not need.
drawing_column, answer_column = st.columns(2)
with drawing_column:
    brush = brush_slider()
    canvas_area = st.container()
    given = given_picture(sent)
answer_area = answer_column.container()
st.subheader("Preprocessing X-ray")
st.markdown(
    "Before the network sees anything, the drawing is made to look like an MNIST digit. "
    "Switch a step off to see why it is there."
)
crop_switch, centre_switch = st.columns(2)
crop = crop_switch.toggle("Crop to the ink's bounding box", value=True, key="crop")
centre = centre_switch.toggle("Centre by centre of mass", value=True, key="centre")
xray_area = st.container()


@st.fragment
def read_and_answer(brush: int, given: DrawnInput | None, crop: bool, centre: bool) -> None:
    """The canvas and everything read from it: the answer first, then how it came about."""
    active = current_model()
    with canvas_area:
        drawn = canvas_input(brush, given)
    steps = preprocess(drawn.rgba, crop=crop, centre=centre, upload=drawn.upload)
    # The training images are only needed to judge a drawing, not to show an empty canvas.
    answer = None
    if steps.features is not None and drawn.problem is None:
        answer = classify(active.weights, steps.features, training_neighbours())
    with answer_area:
        show_answer(answer, steps, drawn)
    if answer is not None:
        let_the_answer_paint()
    with xray_area:
        show_xray(steps)
    if answer is None:
        return
    st.session_state[LAST_DRAWING] = steps.features.astype(np.float32)
    with answer_area:
        seen, why = st.columns(2)
        with seen:
            show_pixels(steps.network_input, "What the network sees: 20×20 = 400 numbers", 14)
        with why:
            show_saliency(active.weights, steps.features)
        render_keep_drawing(steps.network_input)
        render_add_to_class(steps.network_input)

    st.subheader("Inside the network")
    st.markdown(
        f"The 400 numbers flow through the hidden layers ({active.config.activation} units; "
        "bright = strongly active) to one output: the probability that the digit is a 1."
    )
    show_activations(answer.layers, active.config.activation)

    st.subheader("What if you drew it differently?")
    st.markdown(
        "Shift, turn, resize or thicken your drawing (as the network sees it, after the "
        "X-ray's steps) and watch the answer."
    )
    show_probes(active.weights, steps.framed)

    st.subheader("The hidden space")
    show_hidden_space(active.weights, steps.features)


read_and_answer(brush, given, crop, centre)

with st.expander("When is an answer marked uncertain?"):
    st.markdown(
        f"- When the probability is between {UNSURE_LOW} and {UNSURE_HIGH}: the network "
        "itself cannot decide.\n"
        "- When the drawing is far from every training image: its distance (over the 400 "
        "pixels, slightly blurred) to the nearest training image is larger than for "
        f"{NOVELTY_QUANTILE:.0%} of the real digits the network never saw during training. "
        "A scribble, a letter or a filled square lands here.\n\n" + ONLY_ZERO_OR_ONE
    )
