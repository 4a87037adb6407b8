"""Data: the 20×20 images the network learns from, their counts and mean images, pixel by pixel."""

import numpy as np
import pandas as pd
import streamlit as st

from model.config import INPUT_SIDE
from model.data import SPLIT_NAMES, load_bundled
from model.inspection import (
    as_image,
    brightest_to_white,
    class_counts,
    class_mean_images,
    sample_positions,
)
from ui.navigation import switch_page
from ui.plots import DIGIT_ZOOM, digit_rgb, show_digit
from ui.state import SENT_TO_DRAW, SentImage, dataset_splits

SPLIT_CHOICE = "data_split"
LABEL_CHOICE = "data_label"
PICKED_IMAGE = "data_picked_image"
SEND_BUTTON = "data_send"
SHUFFLE_COUNT = "data_shuffle_count"
GRID_SIZE = 40
GRID_ZOOM = 4
ALL_LABELS = "all"
TABLE_ROW_PIXELS = 35

st.session_state.setdefault(SHUFFLE_COUNT, 0)

st.title("Data")
st.markdown(
    "Every image is a handwritten 0 or 1 from MNIST, shrunk from 28×28 to **20×20 pixels**: "
    "400 numbers between 0 (black) and 1 (white ink). That is all the network ever sees."
)

splits = dataset_splits()
counts = class_counts(splits)
table, means = st.columns([2, 3])
with table:
    st.subheader("How many of each")
    st.table(
        {
            "split": list(SPLIT_NAMES),
            "0s": [counts[name][0] for name in SPLIT_NAMES],
            "1s": [counts[name][1] for name in SPLIT_NAMES],
            "total": [sum(counts[name].values()) for name in SPLIT_NAMES],
        }
    )
    st.caption("The network learns from *train*, is watched on *validation*, graded on *test*.")

filters, reshuffle = st.columns([4, 1], vertical_alignment="bottom")
with filters:
    split_column, label_column = st.columns(2)
    split_name = split_column.segmented_control(
        "Split", SPLIT_NAMES, default="train", required=True, key=SPLIT_CHOICE
    )
    label_choice = label_column.segmented_control(
        "Label", [ALL_LABELS, "0", "1"], default=ALL_LABELS, required=True, key=LABEL_CHOICE
    )
if reshuffle.button("Reshuffle", icon=":material/shuffle:"):
    st.session_state[SHUFFLE_COUNT] += 1

split = getattr(splits, split_name)
with means:
    st.subheader(f"The average image ({split_name})")
    class_means = class_mean_images(split.x, split.y)
    for column, (label, mean) in zip(st.columns(2), class_means.items(), strict=False):
        with column:
            show_digit(brightest_to_white(mean), caption=f"mean of the {label}s")
    st.caption("Brightness is rescaled so the most inked pixel of each average is white.")

wanted = None if label_choice == ALL_LABELS else int(label_choice)
positions = sample_positions(split.y, wanted, GRID_SIZE, st.session_state[SHUFFLE_COUNT])
st.subheader(f"{len(positions)} {split_name} images, as the network sees them")
st.image(
    [digit_rgb(split.x[position], GRID_ZOOM) for position in positions],
    caption=[f"{int(split.y[position])} · #{position}" for position in positions],
)

st.subheader("One image, pixel by pixel")
choose, send = st.columns([3, 1], vertical_alignment="bottom")
picked = choose.selectbox(
    "Look closer at",
    [int(position) for position in positions],
    format_func=lambda position: f"#{position}, labelled {int(split.y[position])}",
    key=PICKED_IMAGE,
)
features = split.x[picked]
label = int(split.y[picked])
if send.button("Send it to the Draw page", icon=":material/send:", key=SEND_BUTTON):
    raw = load_bundled().images[split.indices[picked]]
    st.session_state[SENT_TO_DRAW] = SentImage(raw, label, f"{split_name} image #{picked}")
    switch_page("app_pages/draw.py")
picture, numbers = st.columns([1, 5])
with picture:
    show_digit(features, caption=f"{split_name} #{picked}, labelled {label}", zoom=DIGIT_ZOOM)
    st.caption(f"Ink in {int(np.count_nonzero(features))} of {features.size} pixels.")
with numbers:
    side = range(1, INPUT_SIDE + 1)
    st.dataframe(
        pd.DataFrame(as_image(features), index=side, columns=[str(column) for column in side]),
        column_config={
            str(column): st.column_config.NumberColumn(format="%.2f", width=38) for column in side
        },
        height=TABLE_ROW_PIXELS * (INPUT_SIDE + 1) + 2,
    )
    st.caption("The 400 features: row by row, these numbers are the input x of the network.")
