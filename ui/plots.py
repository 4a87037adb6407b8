"""Streamlit helpers that draw small arrays as crisp enlarged images, and hand-written Vega-Lite charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from model.inspection import (
    as_image,
    colour_bar,
    enlarge,
    grayscale_rgb,
    symmetric_limit,
    weight_heatmap,
)
from model.probes import PROBE_LABELS, Sweep
from model.projection import HiddenMap
from model.saliency import TOWARDS_ONE_RGB, TOWARDS_ZERO_RGB

if TYPE_CHECKING:
    import pandas as pd

DIGIT_ZOOM = 8
HEATMAP_ZOOM = 12
PROBE_PANEL_WIDTH, PROBE_PANEL_HEIGHT = 150, 100
# Panels per row of the probe chart: three fit beside the changed picture on a laptop.
PROBE_COLUMNS = 3
HIDDEN_SPACE_HEIGHT = 320


def _hex(rgb: np.ndarray) -> str:
    return "#" + "".join(f"{int(channel):02x}" for channel in rgb)


# The saliency map's colour-blind-safe pair: blue for 0, orange for 1, on every view.
CLASS_COLOURS = (_hex(TOWARDS_ZERO_RGB), _hex(TOWARDS_ONE_RGB))
FLIP_COLOUR = CLASS_COLOURS[1]
# A five-pointed star as an SVG path on Vega's unit square, for the learner's drawing.
STAR_PATH = "M0,-1L0.225,-0.309L0.951,-0.309L0.363,0.118L0.588,0.809L0,0.382L-0.588,0.809L-0.363,0.118L-0.951,-0.309L-0.225,-0.309Z"


def digit_rgb(features: np.ndarray, zoom: int = DIGIT_ZOOM) -> np.ndarray:
    """400 features or a 20×20 image → an enlarged grayscale picture, white ink on black."""
    return enlarge(grayscale_rgb(as_image(features)), zoom)


def show_digit(features: np.ndarray, caption: str | None = None, zoom: int = DIGIT_ZOOM) -> None:
    # Enlarged here, not by the browser, which would blur the 20×20 pixels.
    st.image(digit_rgb(features, zoom), caption=caption)


def show_colour_scale(limit: float) -> None:
    st.image(colour_bar())
    st.caption(f"blue −{limit:.2f} · white 0 · red +{limit:.2f}")


def show_weight_heatmap(kernel: np.ndarray, name: str, zoom: int = HEATMAP_ZOOM) -> None:
    """One layer's (fan_in × fan_out) kernel drawn as a row per unit, a column per input."""
    fan_in, fan_out = kernel.shape
    limit = symmetric_limit(kernel)
    st.image(
        weight_heatmap(kernel.T, zoom),
        caption=f"{name}: {fan_out} unit{'s' * (fan_out > 1)} × {fan_in} inputs · scale ±{limit:.2f}",
    )


def line_chart(frame: pd.DataFrame, y_label: str) -> None:
    """One line per column of `frame` against its index, the epoch.

    A Vega-Lite spec written out rather than `st.line_chart`, which builds and validates an
    Altair chart: about 100 ms a chart here against 3 ms, and the live view redraws two charts
    every 0.4 s for every learner who is training.
    """
    spec = {
        "transform": [
            {"fold": [str(column) for column in frame.columns], "as": ["curve", "value"]}
        ],
        "mark": {"type": "line"},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "title": "epoch"},
            "y": {"field": "value", "type": "quantitative", "title": y_label},
            "color": {
                "field": "curve",
                "type": "nominal",
                "title": None,
                "legend": {"orient": "bottom"},
            },
        },
    }
    st.vega_lite_chart(frame.rename_axis("epoch").reset_index(), spec, width="stretch")


def probe_rows(sweeps: list[Sweep]) -> pd.DataFrame:
    """The probe chart's data: each sweep's points, where its slider is, and where it flips."""
    import pandas as pd

    rows: list[tuple[str, str, float, float]] = []
    for sweep in sweeps:
        label = PROBE_LABELS[sweep.name]
        rows += [
            (label, "sweep", float(value), float(p))
            for value, p in zip(sweep.values, sweep.probabilities, strict=True)
        ]
        here = float(sweep.probabilities[list(sweep.values).index(sweep.current)])
        rows.append((label, "current", sweep.current, here))
        rows += [(label, "flip", flip, 0.5) for flip in sweep.flips]
    return pd.DataFrame(rows, columns=["probe", "kind", "value", "p"])


def _probe_spec() -> dict:
    """P(1) across each probe's range, one small panel per probe.

    The dotted line is 0.5, dashed orange rules mark each flip and a dot marks where the
    slider is. The spec never changes, only the data: the browser then swaps the data
    of the chart it has instead of building a new one on every stroke.
    """
    x = {
        "field": "value",
        "type": "quantitative",
        "title": None,
        "scale": {"nice": False, "zero": False},
    }
    return {
        "facet": {
            "field": "probe",
            "type": "nominal",
            "title": None,
            "sort": list(PROBE_LABELS.values()),
        },
        "columns": PROBE_COLUMNS,
        "spec": {
            "width": PROBE_PANEL_WIDTH,
            "height": PROBE_PANEL_HEIGHT,
            "layer": [
                {
                    "mark": {"type": "rule", "strokeDash": [2, 2], "color": "#888"},
                    "encoding": {"y": {"datum": 0.5}},
                },
                {
                    "transform": [{"filter": "datum.kind === 'sweep'"}],
                    "mark": {"type": "line", "color": "#444"},
                    "encoding": {
                        "x": x,
                        "y": {
                            "field": "p",
                            "type": "quantitative",
                            "title": "P(1)",
                            "scale": {"domain": [0, 1]},
                        },
                    },
                },
                {
                    "transform": [{"filter": "datum.kind === 'flip'"}],
                    "mark": {"type": "rule", "color": FLIP_COLOUR, "strokeDash": [4, 2], "size": 2},
                    "encoding": {"x": x},
                },
                {
                    "transform": [{"filter": "datum.kind === 'current'"}],
                    "mark": {"type": "point", "filled": True, "color": "#000", "size": 60},
                    "encoding": {"x": x, "y": {"field": "p", "type": "quantitative"}},
                },
            ],
        },
        "resolve": {"scale": {"x": "independent"}},
    }


def hidden_space_rows(space: HiddenMap) -> pd.DataFrame:
    """The hidden-space chart's data: one row per test image, and one for the drawing."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "x": space.points[:, 0],
            "y": space.points[:, 1],
            "label": space.labels.astype(str),
            "kind": "test image",
        }
    )
    if space.drawing is not None:
        drawing = {"x": [space.drawing[0]], "y": [space.drawing[1]]}
        frame = pd.concat(
            [frame, pd.DataFrame({**drawing, "label": ["drawing"], "kind": ["drawing"]})],
            ignore_index=True,
        )
    return frame


def _hidden_space_spec() -> dict:
    """Test images as dots (blue 0s, orange 1s, told apart by shape too), the drawing as a star."""
    position = {
        "x": {"field": "x", "type": "quantitative", "title": "axis 1"},
        "y": {"field": "y", "type": "quantitative", "title": "axis 2"},
    }
    return {
        "height": HIDDEN_SPACE_HEIGHT,
        "layer": [
            {
                "transform": [{"filter": "datum.kind === 'test image'"}],
                "mark": {"type": "point", "filled": True, "opacity": 0.7},
                "encoding": {
                    **position,
                    "color": {
                        "field": "label",
                        "type": "nominal",
                        "title": "test image",
                        "scale": {"domain": ["0", "1"], "range": list(CLASS_COLOURS)},
                        "legend": {"orient": "bottom"},
                    },
                    "shape": {
                        "field": "label",
                        "type": "nominal",
                        "scale": {"domain": ["0", "1"], "range": ["circle", "square"]},
                    },
                },
            },
            {
                "transform": [{"filter": "datum.kind === 'drawing'"}],
                "mark": {
                    "type": "point",
                    "shape": STAR_PATH,
                    "filled": True,
                    "size": 400,
                    "color": "#000",
                    "stroke": "#fff",
                    "strokeWidth": 1,
                },
                "encoding": position,
            },
        ],
    }


PROBE_SPEC = _probe_spec()
HIDDEN_SPACE_SPEC = _hidden_space_spec()
