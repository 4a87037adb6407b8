"""Under the hood: the lesson's three steps as live code, the forward pass by hand, the weights."""

import numpy as np
import pandas as pd
import streamlit as st

from model.augment import AUGMENTED_COPIES
from model.config import INPUT_FEATURES, OPTIMIZER_LABELS, describe, parameter_counts
from model.inspection import first_layer_images, first_layer_mosaic, forward_steps, symmetric_limit
from model.lesson_code import (
    batches_per_epoch,
    compile_code,
    fit_code,
    imports_code,
    specify_code,
    training_images,
)
from ui.plots import show_colour_scale, show_digit, show_weight_heatmap
from ui.run_sync import current_model
from ui.state import LAST_DRAWING, dataset_splits

INPUT_CHOICE = "hood_input"
TEST_IMAGE = "hood_test_image"
TEST_IMAGE_INPUT, DRAWING_INPUT = "A test image", "Your last drawing"
REFRESH_SECONDS = 2.0
BCE_FORMULA = (
    r"L = -\frac{1}{m}\sum_{i=1}^{m}\Big[y^{(i)}\log \hat y^{(i)}"
    r" + \big(1-y^{(i)}\big)\log\big(1-\hat y^{(i)}\big)\Big]"
)
MSE_FORMULA = r"L = \frac{1}{m}\sum_{i=1}^{m}\big(\hat y^{(i)} - y^{(i)}\big)^2"

active = current_model()
config = active.config
splits = dataset_splits()
st.title("Under the hood")
st.caption(f"Showing {active.description}: `{describe(config)}`.")

st.header("1 · Specify the model")
st.code(f"{imports_code(config)}\n\n{specify_code(config)}", language="python")
counts = ", ".join(f"{count:,}" for count in parameter_counts(config))
st.markdown(
    "Each `Dense` layer computes $z = a \\cdot W + b$ from the previous layer's outputs $a$, "
    "then $a = g(z)$ with its activation $g$. The last layer's single sigmoid unit is the "
    f"probability that the image is a **1**. Weights and biases per layer: {counts}."
)

st.header("2 · Compile it with a loss")
st.code(compile_code(config), language="python")
bce, mse = st.columns(2)
with bce:
    st.markdown("**Binary cross-entropy** (the lesson's loss)")
    st.latex(BCE_FORMULA)
    st.caption("A confident wrong answer ($\\hat y \\to 0$ when $y = 1$) costs without limit.")
with mse:
    st.markdown("**Mean squared error**, for comparison")
    st.latex(MSE_FORMULA)
    st.caption("Never costs more than 1 per image, however wrong.")

st.header("3 · Fit it")
st.code(fit_code(config), language="python")
images = training_images(len(splits.train), config)
batches = batches_per_epoch(images, config.batch_size)
copies = (
    f" ({images // (1 + AUGMENTED_COPIES)} originals, each with {AUGMENTED_COPIES} varied copies)"
    if config.augment
    else ""
)
st.markdown(
    f"- A **batch** is {config.batch_size} training images: the loss is averaged over them and "
    "the weights take one small step.\n"
    f"- An **epoch** is one pass over all {images:,} training images{copies}: {batches} "
    f"batches, so {config.epochs} epochs make {batches * config.epochs:,} steps.\n"
    f"- **Backpropagation** computes the gradient of the loss with respect to every one of the "
    f"{sum(parameter_counts(config)):,} weights and biases, layer by layer from the output back "
    f"to the input (the chain rule). {OPTIMIZER_LABELS[config.optimizer]} then moves each one a little "
    f"against its gradient, scaled by the learning rate {config.learning_rate:g}."
)

st.header("Forward pass by hand")
drawing = st.session_state.get(LAST_DRAWING)
has_drawing = drawing is not None and np.size(drawing) == INPUT_FEATURES
sources = [TEST_IMAGE_INPUT, DRAWING_INPUT] if has_drawing else [TEST_IMAGE_INPUT]
source = st.segmented_control(
    "Input", sources, default=TEST_IMAGE_INPUT, required=True, key=INPUT_CHOICE
)
if source == DRAWING_INPUT:
    x, what = np.asarray(drawing, dtype=np.float32), "your last drawing"
else:
    position = st.number_input("Test image number", 0, len(splits.test) - 1, 0, key=TEST_IMAGE)
    x = splits.test.x[position]
    what = f"test image #{position}, labelled {int(splits.test.y[position])}"
steps = forward_steps(active.weights, x)
picture, layers = st.columns([1, 3])
with picture:
    show_digit(x, caption=what)
    st.caption("a⁰ = x: 400 numbers, shape (1×400).")
with layers:
    for step in steps:
        name = "Output layer" if step.is_output else f"Hidden layer {step.number}"
        units = f"{step.units} unit" + ("s" if step.units > 1 else "")
        st.markdown(f"**{name}**: {units}, activation {step.activation}")
        st.code(step.equation(), language=None)
        z, a = step.z_summary(), step.a_summary()
        st.caption(
            f"z: min {z.minimum:.3f}, mean {z.mean:.3f}, max {z.maximum:.3f} · "
            f"a: min {a.minimum:.3f}, mean {a.mean:.3f}, max {a.maximum:.3f} · most active: "
            + ", ".join(f"unit {unit} ({value:.3f})" for unit, value in step.top_units())
        )
        values = pd.DataFrame([step.z, step.a], index=["z", "a"], columns=range(1, step.units + 1))
        st.dataframe(values.round(4), width="content")
probability = float(steps[-1].a[0])
st.markdown(
    f"By hand, with NumPy: **P(1) = {probability:.6f}**, so the network answers "
    f"**{int(probability >= 0.5)}**."
)
if st.button("Check against Keras", icon=":material/fact_check:", key="hood_keras"):
    with st.spinner("Loading TensorFlow and building the same network in Keras…"):
        from model.network import model_from_weights

        keras_model = model_from_weights(config, active.weights)
        keras_probability = float(keras_model.predict(x.reshape(1, -1), verbose=0)[0, 0])
    difference = abs(keras_probability - probability)
    report = f"Keras `model.predict`: {keras_probability:.6f}, difference {difference:.1e}"
    (st.success if difference <= 1e-5 else st.error)(report)


@st.fragment(run_every=REFRESH_SECONDS if active.training else None)
def weight_pictures(refreshing: bool) -> None:
    """Re-reads the model on each run so the pictures follow a training job."""
    live = current_model()
    if refreshing and not live.training:
        st.rerun()
    st.header("What the first layer looks for")
    limit = symmetric_limit(first_layer_images(live.weights))
    st.markdown(
        f"Each square is one of the {live.weights.kernels[0].shape[1]} first-layer units: its 400 "
        "weights laid out like the input pixels. Red pixels push z up when inked, blue push it "
        "down." + (" Updating while your model trains." if live.training else "")
    )
    mosaic, later = st.columns([3, 2])
    with mosaic:
        st.image(first_layer_mosaic(live.weights))
        show_colour_scale(limit)
    with later:
        last = len(live.weights.kernels)
        for number, kernel in enumerate(live.weights.kernels[1:], start=2):
            show_weight_heatmap(kernel, "Output layer" if number == last else f"Layer {number}")


weight_pictures(active.training)
