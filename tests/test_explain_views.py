"""The Draw page's explanations in AppTest (saliency, probes, hidden space) and the Train page's live map."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from model.probes import NOTHING_LEFT, OUT_OF_FRAME
from tests.test_draw_page import open_page, paper_digit, upload
from tests.test_train_page import open_train_page, rerun_until, session_model
from ui.explain import PROBE_KEYS, SALIENCY_CAPTION


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def charts(at: AppTest) -> list[tuple[dict, pd.DataFrame]]:
    """Each Vega-Lite chart's spec and data."""
    return [
        (json.loads(chart.proto.spec), convert_arrow_bytes_to_pandas_df(chart.proto.data.data))
        for chart in at.get("vega_lite_chart")
    ]


def probe_rows(at: AppTest) -> pd.DataFrame:
    return next(data for spec, data in charts(at) if "facet" in spec)


def is_hidden_map(data: pd.DataFrame) -> bool:
    return {"x", "y", "kind"} <= set(data.columns)


def hidden_rows(at: AppTest) -> pd.DataFrame:
    return next(data for _, data in charts(at) if is_hidden_map(data))


def has_hidden_map(at: AppTest) -> bool:
    return any(is_hidden_map(data) for _, data in charts(at))


def changed_caption(at: AppTest) -> str:
    return next(caption for caption in captions(at) if caption.startswith("Changed: P(1)"))


@pytest.fixture
def one() -> AppTest:
    return upload(open_page(), "one.jpg", paper_digit(1), "image/jpeg")


def test_the_first_view_is_light_no_explanations_without_a_drawing() -> None:
    at = open_page()
    assert SALIENCY_CAPTION not in captions(at)
    assert not charts(at)
    assert all(key not in at.session_state for key in PROBE_KEYS.values())


def test_a_drawing_gets_its_saliency_map_beside_what_the_network_sees(one: AppTest) -> None:
    assert SALIENCY_CAPTION in captions(one)
    totals = next(c.value for c in one.caption if "add" in c.value and "logit" in c.value)
    assert "Orange pixels add" in totals and "take" in totals


def test_probe_sliders_change_the_answer_and_the_chart_marks_the_flips(one: AppTest) -> None:
    assert changed_caption(one).endswith("→ 1")
    rows = probe_rows(one)
    assert {"sweep", "current"} <= set(rows["kind"])
    assert rows["probe"].nunique() == len(PROBE_KEYS)
    # Moved 6 px right (no centring after the probe), the bundled model's 1 reads as a 0.
    one.slider(key=PROBE_KEYS["shift_x"]).set_value(6.0).run()
    assert not one.exception, one.exception
    assert changed_caption(one).endswith("→ 0")
    rows = probe_rows(one)
    shift = rows[rows["probe"].str.startswith("Shift right")]
    assert (shift["kind"] == "flip").any()
    assert shift[shift["kind"] == "current"]["value"].tolist() == [6.0]
    one.button(key="probe_reset").click().run()
    assert one.slider(key=PROBE_KEYS["shift_x"]).value == 0.0
    assert changed_caption(one).endswith("→ 1")


def test_extreme_probe_values_get_a_message_not_an_exception(one: AppTest) -> None:
    one.slider(key=PROBE_KEYS["scale"]).set_value(1.6).run()
    assert not one.exception
    assert OUT_OF_FRAME in [warning.value for warning in one.warning]
    for name in ("thickness", "shift_x", "shift_y", "rotation", "scale"):
        one.slider(key=PROBE_KEYS[name]).set_value(one.slider(key=PROBE_KEYS[name]).min).run()
        assert not one.exception, one.exception
    assert changed_caption(one).startswith("Changed: P(1) =")
    assert [warning.value for warning in one.warning] == [NOTHING_LEFT]


def test_the_hidden_space_shows_every_test_image_and_the_drawing_as_a_star(one: AppTest) -> None:
    spec = next(spec for spec, data in charts(one) if is_hidden_map(data))
    assert spec["layer"][1]["mark"]["shape"].startswith("M0,-1")
    rows = hidden_rows(one)
    images = rows[rows["kind"] == "test image"]
    assert len(images) == 150 and set(images["label"]) == {"0", "1"}
    star = rows[rows["kind"] == "drawing"]
    assert len(star) == 1 and float(star["x"].iloc[0]) > 0  # a 1 lands on the 1s' side
    assert any("The star is your drawing" in caption.value for caption in one.caption)


def test_the_train_page_map_follows_the_streamed_weights() -> None:
    at = open_train_page()
    at.number_input(key="epochs").set_value(1000).run()
    at.number_input(key="batch_size").set_value(1).run()
    at.button(key="train_button").click().run()
    rerun_until(at, lambda at: session_model(at) is not None and session_model(at).training)
    rerun_until(at, has_hidden_map)
    first = hidden_rows(at)
    rerun_until(at, lambda at: not hidden_rows(at).equals(first))
    assert any("how the last hidden layer sees" in text.value for text in at.markdown)
    at.button(key="stop_button").click().run()
    rerun_until(at, lambda at: any(metric.label == "Test accuracy" for metric in at.metric))
    assert len(hidden_rows(at)) >= 150
