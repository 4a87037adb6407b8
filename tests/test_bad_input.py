"""The catalogue of bad input, faults and abuse: one case each, every one a clear message, nothing lost.

Cases tested in depth elsewhere, by the module that owns them:
- corrupt, zero-byte, non-image, over-the-pixel-limit and oversized uploads: test_draw_page.py
  (the page's message) and test_uploads.py (the decoder);
- a scribble far from any training image: test_draw_page.py; an empty canvas: test_draw_page.py;
- a loss that becomes NaN: test_training.py and test_jobs.py (the last finite weights are kept);
- Stop while queued, Stop while running, a worker killed mid-job, a closed tab's job:
  test_jobs.py and test_browser_faults.py; the server restarted under open sessions:
  test_browser_faults.py;
- tampered and out-of-range links: test_url_settings.py and test_share.py;
- a hostile saved-model file: test_storage.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from model.config import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_INPUT_NOISE,
    MAX_LABEL_NOISE,
    MAX_TRAIN_SIZE,
    MAX_UNITS,
    ConfigError,
    TrainConfig,
)
from model.data import load_splits
from model.inference import TrainingNeighbours, read_drawing
from model.preprocess import CANVAS_SIDE, PROBLEM_TOO_SMALL, preprocess
from model.storage import load_pretrained
from model.url_settings import decode_query
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT


def open_page(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def canvas_rgba(draw) -> np.ndarray:
    """A canvas as the browser sends it: white ink on a black, opaque background."""
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 255))
    draw(ImageDraw.Draw(image))
    return np.asarray(image)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, "image/png")).run()
    assert not at.exception, at.exception
    return at


def prediction(at: AppTest) -> str:
    return next(metric.value for metric in at.metric if metric.label == "Prediction")


def test_a_dot_asks_for_a_bigger_drawing() -> None:
    def dot(pen: ImageDraw.ImageDraw) -> None:
        pen.ellipse([130, 130, 146, 146], fill="white")

    assert preprocess(canvas_rgba(dot)).problem == PROBLEM_TOO_SMALL
    at = upload(open_page("app_pages/draw.py"), "dot.png", png(Image.fromarray(canvas_rgba(dot))))
    assert prediction(at) == "–"
    # Uploaded, the dot is judged by its pixels, and the message speaks of the picture.
    assert any("too small to be a digit" in info.value for info in at.info)
    assert any("pixels tall" in info.value for info in at.info)


def test_an_all_ink_canvas_is_answered_only_as_uncertain() -> None:
    def flood(pen: ImageDraw.ImageDraw) -> None:
        pen.rectangle([0, 0, CANVAS_SIDE, CANVAS_SIDE], fill="white")

    splits = load_splits()
    neighbours = TrainingNeighbours.calibrated(splits.train.x, splits.validation.x)
    reading = read_drawing(canvas_rgba(flood), load_pretrained().weights, neighbours)
    assert reading.answer is not None and reading.answer.uncertain
    assert "only ever answer 0 or 1" in reading.answer.explanation()


def test_a_bad_upload_then_a_good_one_loses_nothing() -> None:
    at = upload(open_page("app_pages/draw.py"), "broken.png", b"\x89PNG\r\n\x1a\nbroken")
    assert len(at.error) == 1 and prediction(at) == "–"

    def one(pen: ImageDraw.ImageDraw) -> None:
        pen.line([(140, 40), (135, 240)], fill="white", width=22)

    at = upload(at, "one.png", png(Image.fromarray(canvas_rgba(one))))
    assert not at.error and prediction(at) == "1"


def test_epochs_at_the_maximum_are_accepted_and_one_more_is_refused() -> None:
    at = open_page("app_pages/train.py", epochs=str(MAX_EPOCHS))
    assert at.number_input(key="epochs").value == MAX_EPOCHS
    assert not at.button(key="train_button").disabled
    at.number_input(key="epochs").set_value(MAX_EPOCHS + 1).run()
    assert not at.exception
    assert any("epochs must be 1 to 1000" in error.value for error in at.error)
    assert at.button(key="train_button").disabled


def test_a_non_numeric_and_an_out_of_range_link_fall_back_with_notices() -> None:
    at = open_page("app_pages/train.py", epochs="ten", batch="-5")
    assert at.number_input(key="epochs").value == 100
    assert at.number_input(key="batch_size").value == 32
    assert len(at.warning) >= 2


def test_bad_data_settings_in_a_link_fall_back_with_notices() -> None:
    at = open_page("app_pages/train.py", images="3", flip="half", noise="0.9")
    assert at.number_input(key="train_size").value is None
    assert at.slider(key="label_noise").value == 0.0
    assert at.slider(key="input_noise").value == 0.0
    notices = [str(warning.value) for warning in at.warning]
    assert any("images='3'" in notice for notice in notices), notices
    assert any("flip='half'" in notice for notice in notices)
    assert any("noise='0.9'" in notice for notice in notices)
    assert not at.button(key="train_button").disabled


@pytest.mark.parametrize(
    ("changes", "link"),
    [
        ({"epochs": MAX_EPOCHS + 1}, f"epochs={MAX_EPOCHS + 1}"),
        ({"hidden_units": (MAX_UNITS + 1,)}, f"units={MAX_UNITS + 1}"),
        ({"batch_size": MAX_BATCH_SIZE + 1}, f"batch={MAX_BATCH_SIZE + 1}"),
        ({"hidden_units": (25, 15, 5, 5)}, "units=25,15,5,5"),
        ({"learning_rate": float("inf")}, "lr=inf"),
        ({"train_size": MAX_TRAIN_SIZE + 1}, f"images={MAX_TRAIN_SIZE + 1}"),
        ({"label_noise": MAX_LABEL_NOISE + 0.01}, f"flip={MAX_LABEL_NOISE + 0.01}"),
        ({"input_noise": MAX_INPUT_NOISE + 0.01}, f"noise={MAX_INPUT_NOISE + 0.01}"),
    ],
    ids=["epochs", "units", "batch-size", "layers", "learning-rate", "images", "flip", "noise"],
)
def test_caps_are_enforced_in_model_not_only_in_the_widgets(changes: dict, link: str) -> None:
    with pytest.raises(ConfigError):
        TrainConfig(**changes)
    decoded = decode_query(link)
    assert decoded.config == TrainConfig()
    assert len(decoded.notices) == 1 and "kept the default" in decoded.notices[0]
