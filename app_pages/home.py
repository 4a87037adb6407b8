"""Home: what the lab is, the lesson's three steps, and where to go next."""

import streamlit as st

from model.config import TrainConfig, describe, parameter_counts
from ui.navigation import page_link
from ui.state import dataset_splits

st.title("Zero-or-One Lab")
st.markdown(
    "Train a small neural network to tell handwritten **0**s from **1**s, watch it learn "
    "epoch by epoch, then test it with a digit you draw yourself."
)

config = TrainConfig()
sizes = dataset_splits().sizes()
st.markdown(
    f"The network is the one from the lesson *Neural Network Training*: "
    f"`{describe(config)}`, trained on {sum(sizes.values()):,} MNIST images "
    f"({sizes['train']} to train, {sizes['validation']} to validate, {sizes['test']} to test), "
    "each shrunk to 20×20 pixels, 400 numbers between 0 and 1."
)

st.subheader("The three steps of the lesson")
specify, compile_, fit = st.columns(3)
with specify:
    st.markdown("**1 · Specify the model**")
    units = ", ".join(f"{count:,}" for count in parameter_counts(config))
    st.code(
        "model = Sequential([\n"
        "    Dense(25, activation='sigmoid'),\n"
        "    Dense(15, activation='sigmoid'),\n"
        "    Dense(1, activation='sigmoid'),\n"
        "])",
        language="python",
    )
    st.caption(f"Parameters per layer: {units}.")
with compile_:
    st.markdown("**2 · Compile it with a loss**")
    st.code("model.compile(loss=BinaryCrossentropy())", language="python")
    st.caption("Binary cross-entropy scores how wrong each probability is.")
with fit:
    st.markdown("**3 · Fit it for some epochs**")
    st.code("model.fit(X, y, epochs=100)", language="python")
    st.caption("Each epoch shows the network every training image once.")

st.subheader("Where to go")
page_link(
    "app_pages/data.py",
    label="Data: look at the images the network learns from",
    icon=":material/grid_view:",
)
page_link(
    "app_pages/train.py",
    label="Train: set the network up and watch it learn",
    icon=":material/model_training:",
)
page_link("app_pages/draw.py", label="Draw: test it with your own 0 or 1", icon=":material/draw:")
page_link(
    "app_pages/classroom.py",
    label="Class: start a class for the projector, or join your teacher's",
    icon=":material/school:",
)
page_link(
    "app_pages/under_the_hood.py",
    label="Under the hood: the forward pass by hand and the weights",
    icon=":material/neurology:",
)
