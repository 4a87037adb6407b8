"""Why this answer, what-if probes and the hidden space: the views that explain one network's answers."""

from __future__ import annotations

import numpy as np
import streamlit as st

from model.forward import NetworkWeights, predict_proba
from model.inspection import enlarge
from model.probes import (
    PROBE_LABELS,
    PROBE_RANGES,
    Variation,
    frame_problem,
    sweeps,
    varied_input,
)
from model.projection import hidden_map
from model.saliency import saliency, saliency_legend, saliency_rgb
from ui.plots import HIDDEN_SPACE_SPEC, PROBE_SPEC, hidden_space_rows, probe_rows
from ui.state import LAST_DRAWING, dataset_splits

SALIENCY_ZOOM = 14
PROBE_ZOOM = 9
PROBE_KEYS = {name: f"probe_{name}" for name in PROBE_RANGES}
SALIENCY_CAPTION = "Why this answer: orange pixels push it towards 1, blue ones towards 0"


def show_saliency(weights: NetworkWeights, features: np.ndarray) -> None:
    """Gradient × input over what the network sees, with its colour scale and totals."""
    values = saliency(weights, features)[0]
    st.image(
        enlarge(saliency_rgb(values, features), SALIENCY_ZOOM),
        caption=SALIENCY_CAPTION,
        alt="Saliency map",
    )
    st.image(saliency_legend(width=SALIENCY_ZOOM * 20), alt="Saliency colour scale")
    towards_one = float(values[values > 0].sum())
    towards_zero = float(-values[values < 0].sum())
    st.caption(
        "Each pixel's brightness times how much the output's logit would rise if it were a "
        f"little brighter. Orange pixels add {towards_one:.2f} to the logit, blue ones take "
        f"{towards_zero:.2f} away; black pixels have no ink, so they push neither way."
    )


def _reset_probes() -> None:
    for name, key in PROBE_KEYS.items():
        st.session_state[key] = PROBE_RANGES[name][3]


def probe_sliders() -> Variation | str:
    """The five probe sliders; the chosen variation, or what is wrong with the values."""
    columns = st.columns(len(PROBE_RANGES), vertical_alignment="bottom")
    values = {}
    for column, (name, (low, high, step, neutral)) in zip(
        columns, PROBE_RANGES.items(), strict=True
    ):
        values[name] = column.slider(
            PROBE_LABELS[name], low, high, neutral, step, key=PROBE_KEYS[name]
        )
    st.button("Back to the drawing as it is", key="probe_reset", on_click=_reset_probes)
    try:
        return Variation(**{name: float(value) for name, value in values.items()})
    except (TypeError, ValueError) as error:
        return f"These probe settings cannot be used: {error}."


@st.fragment
def show_probes(weights: NetworkWeights, framed: np.ndarray) -> None:
    """Sliders that change the drawing, its new answer, and P(1) across every slider's range.

    A fragment of its own: moving a probe slider reruns only this, not the canvas above.
    """
    variation = probe_sliders()
    if isinstance(variation, str):
        st.error(variation)
        return
    features = varied_input(framed, variation)
    probability = float(predict_proba(weights, features)[0])
    picture, chart = st.columns([1, 4])
    with picture:
        st.image(
            enlarge(np.repeat(features.reshape(20, 20, 1), 3, axis=2), PROBE_ZOOM),
            caption=f"Changed: P(1) = {probability:.2f} → {int(probability >= 0.5)}",
            clamp=True,
        )
    problem = frame_problem(framed, variation)
    if problem is not None:
        picture.warning(problem)
    with chart:
        st.vega_lite_chart(
            probe_rows(sweeps(weights, framed, variation)),
            PROBE_SPEC,
            width="content",
            alt="P(1) across each probe's range",
        )
        st.caption(
            "Each panel moves one slider through its whole range, the others staying where "
            "they are: the gray line is P(1), the dotted line 0.5, an orange dashed line "
            "marks where the answer flips and the dot where the slider is now."
        )


def show_hidden_space(weights: NetworkWeights, drawing: np.ndarray | None = None) -> None:
    """The bundled test images in the last hidden layer, flattened to 2-D by PCA."""
    test = dataset_splits("bundled").test
    space = hidden_map(weights, test.x, test.y, drawing)
    st.vega_lite_chart(
        hidden_space_rows(space),
        HIDDEN_SPACE_SPEC,
        width="stretch",
        alt="The hidden space of the test images",
    )
    star = " The star is your drawing." if drawing is not None else ""
    first, second = (f"{share:.0%}" for share in space.explained)
    st.caption(
        f"Each dot is one of the {len(test)} test images, placed by what the last hidden "
        f"layer's {space.units} units make of it, seen from the two directions along which "
        f"they differ most (PCA: axis 1 holds {first} of their spread, axis 2 {second})."
        f"{star} Where the 0s and 1s form two separate clouds, the "
        "output unit can tell them apart with one straight line."
    )


def show_training_hidden_space(weights: NetworkWeights | None) -> None:
    """The Train page's map from a run's latest weights: redrawn as new weights stream in."""
    if weights is None:
        return
    st.markdown("**The hidden space**: how the last hidden layer sees the test images now")
    show_hidden_space(weights, st.session_state.get(LAST_DRAWING))
