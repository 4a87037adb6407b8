"""The Data page: counts, mean images, the filtered grid, one image's pixels, sending it to Draw."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from model.data import load_bundled, load_splits
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from ui.state import SENT_TO_DRAW, SentImage

PAGE = "app_pages/data.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def grid_captions(at: AppTest) -> list[str]:
    grids = [image for image in at.image if len(image.captions) > 2]
    assert len(grids) == 1
    return list(grids[0].captions)


def test_counts_and_mean_images_render() -> None:
    at = open_page()
    table = at.table[0].value
    assert list(table["split"]) == ["train", "validation", "test"]
    assert list(table["total"]) == [700, 150, 150]
    assert list(table["0s"] + table["1s"]) == [700, 150, 150]
    captions = [caption for image in at.image for caption in image.captions]
    assert "mean of the 0s" in captions and "mean of the 1s" in captions


def test_grid_filters_by_label_and_split_and_reshuffles() -> None:
    at = open_page()
    everything = grid_captions(at)
    assert len(everything) == 40
    assert {caption.split(" · ")[0] for caption in everything} == {"0", "1"}

    at.segmented_control(key="data_label").set_value("1").run()
    ones = grid_captions(at)
    assert len(ones) == 40 and all(caption.startswith("1 · ") for caption in ones)

    at.segmented_control(key="data_split").set_value("test").run()
    assert not at.exception
    test_ones = grid_captions(at)
    test_split = load_splits("bundled").test
    positions = [int(caption.split("#")[1]) for caption in test_ones]
    assert all(test_split.y[position] == 1 for position in positions)
    assert any("40 test images" in header.value for header in at.subheader)

    next(button for button in at.button if button.label == "Reshuffle").click().run()
    reshuffled = grid_captions(at)
    assert reshuffled != test_ones
    assert all(caption.startswith("1 · ") for caption in reshuffled)


def test_picked_image_shows_its_400_pixel_values() -> None:
    at = open_page()
    picker = at.selectbox(key="data_picked_image")
    position = picker.options[3]
    picker.select_index(3).run()
    frame = at.dataframe[0].value
    assert frame.shape == (20, 20)
    train = load_splits("bundled").train
    expected = train.x[int(position.split(",")[0].lstrip("#"))].reshape(20, 20)
    assert np.allclose(frame.to_numpy(), expected)


def test_sending_an_image_stores_the_raw_picture_and_opens_draw(monkeypatch) -> None:
    switched_to: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        streamlit,
        "switch_page",
        lambda page, query_params=None: switched_to.append((page, query_params)),
    )
    at = open_page()
    picker = at.selectbox(key="data_picked_image")
    position = int(picker.value)
    at.button(key="data_send").click().run()
    assert not at.exception
    # The Draw page's address carries the lab, like every link between pages.
    assert switched_to == [("app_pages/draw.py", {"lab": at.session_state["lab"].id})]
    sent = at.session_state[SENT_TO_DRAW]
    assert isinstance(sent, SentImage)
    train = load_splits("bundled").train
    raw = load_bundled().images[train.indices[position]]
    assert sent.image28.dtype == np.uint8 and sent.image28.shape == (28, 28)
    assert np.array_equal(sent.image28, raw)
    assert sent.label == int(train.y[position])
    assert f"#{position}" in sent.caption


@pytest.mark.parametrize("label", ["0", "1"])
def test_every_label_filter_fills_the_grid_in_every_split(label: str) -> None:
    at = open_page()
    at.segmented_control(key="data_label").set_value(label).run()
    for split in ("train", "validation", "test"):
        at.segmented_control(key="data_split").set_value(split).run()
        assert not at.exception
        assert all(caption.startswith(f"{label} · ") for caption in grid_captions(at))


def test_the_draw_page_opens_with_the_sent_image() -> None:
    at = open_page()
    at.segmented_control(key="data_split").set_value("validation").run()
    at.button(key="data_send").click().run()
    assert not at.exception
    sent = at.session_state[SENT_TO_DRAW]
    assert sent.caption.startswith("validation image #")
    assert any(sent.caption in info.value for info in at.info)
