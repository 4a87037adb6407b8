"""The Draw latency benchmark's baseline page: only the same canvas and one metric, nothing else."""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

# The Draw page's canvas, argument for argument.
drawing = st_canvas(
    stroke_width=20,
    stroke_color="#FFFFFF",
    background_color="#000000",
    width=280,
    height=280,
    drawing_mode="freedraw",
    return_image_data=True,
    key="draw_canvas",
)
pixels = drawing.image_data
# Any value that changes with each stroke will do: the count of inked pixels.
st.metric("Ink", 0 if pixels is None else int((pixels[..., 0] > 127).sum()))
