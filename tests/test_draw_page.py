"""The Draw page in AppTest: empty state, uploads good and bad, an image sent from Data, no TensorFlow."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from model.data import load_bundled, split_indices
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from ui.state import LAST_DRAWING, SENT_TO_DRAW, SentImage

PAGE = "app_pages/draw.py"


def open_page(**session: object) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def prediction(at: AppTest) -> str:
    metrics = [metric for metric in at.metric if metric.label == "Prediction"]
    assert len(metrics) == 1
    return metrics[0].value


def png(image: Image.Image, file_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=file_format)
    return buffer.getvalue()


def paper_digit(digit: int) -> bytes:
    """A photo-like picture: a dark pen digit on light paper."""
    image = Image.new("RGB", (240, 320), (236, 233, 226))
    pen = ImageDraw.Draw(image)
    if digit == 0:
        pen.ellipse([60, 50, 180, 270], outline=(20, 20, 30), width=16)
    else:
        pen.line([(125, 40), (112, 280)], fill=(20, 20, 30), width=16)
    return png(image, "JPEG")


def upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


def test_an_empty_canvas_shows_a_dash_and_a_prompt_to_draw() -> None:
    at = open_page()
    assert prediction(at) == "–"
    assert any("canvas is empty" in info.value for info in at.info)
    assert any("bundled pretrained model" in block.value for block in at.markdown)
    assert LAST_DRAWING not in at.session_state
    assert not at.progress  # no probability bar without an answer


@pytest.mark.parametrize("digit", [0, 1])
def test_an_uploaded_photo_of_a_digit_is_classified(digit: int) -> None:
    at = upload(open_page(), f"digit{digit}.jpg", paper_digit(digit), "image/jpeg")
    assert prediction(at) == str(digit)
    assert any(f"digit{digit}.jpg" in caption.value for caption in at.caption)
    features = at.session_state[LAST_DRAWING]
    assert features.shape == (400,) and features.dtype == np.float32
    assert len(at.progress) >= 1


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.png", b"", "empty (0 bytes)"),
        ("notes.png", b"these are not pixels", "not a PNG or JPEG"),
        ("broken.png", png(Image.new("RGB", (300, 300), "white"))[:200], "damaged"),
        ("bomb.png", png(Image.new("L", (6000, 6000))), "more than the limit"),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024), "over the limit of 2.0 MB"),
    ],
    ids=["zero-bytes", "not-an-image", "corrupt", "decompression-bomb", "huge-file"],
)
def test_a_bad_upload_gets_a_clear_message_and_no_answer(
    name: str, data: bytes, message: str
) -> None:
    at = upload(open_page(), name, data)
    assert prediction(at) == "–"
    errors = [error.value for error in at.error]
    assert len(errors) == 1 and message in errors[0]


def test_a_small_digit_in_a_large_upload_is_answered_and_a_speck_is_refused() -> None:
    # A 1 of 30 pixels in a 500-pixel photo: too small for the canvas's rule (15 % of the
    # side), but an upload's digit is judged by its own pixels.
    image = Image.new("RGB", (500, 500), (236, 233, 226))
    ImageDraw.Draw(image).line([(250, 235), (248, 265)], fill=(20, 20, 30), width=4)
    at = upload(open_page(), "small.png", png(image))
    assert prediction(at) == "1"
    speck = Image.new("RGB", (500, 500), (236, 233, 226))
    ImageDraw.Draw(speck).rectangle([250, 250, 252, 252], fill=(20, 20, 30))
    at = upload(at, "speck.png", png(speck))
    assert prediction(at) == "–"
    assert any("too small to be a digit" in info.value for info in at.info)
    assert any("pixels tall" in info.value for info in at.info)


def test_a_scribble_is_answered_but_marked_uncertain() -> None:
    rng = np.random.default_rng(3)
    image = Image.new("L", (280, 280))
    points = [tuple(point) for point in rng.uniform(10, 270, (40, 2))]
    ImageDraw.Draw(image).line(points, fill=255, width=20)
    at = upload(open_page(), "scribble.png", png(image))
    assert prediction(at) in ("0", "1")
    assert any("uncertain" in metric.delta for metric in at.metric if metric.delta)
    warnings = " ".join(warning.value for warning in at.warning)
    assert "far from every training image" in warnings and "only ever answer 0 or 1" in warnings


def sent_test_image(label: int) -> SentImage:
    dataset = load_bundled()
    rows = split_indices(dataset.labels)["test"]
    row = next(row for row in rows if dataset.labels[row] == label)
    return SentImage(dataset.images[row], label, f"test image #{row}")


@pytest.mark.parametrize("label", [0, 1])
def test_an_image_sent_from_the_data_page_goes_through_the_pipeline(label: int) -> None:
    sent = sent_test_image(label)
    at = open_page(**{SENT_TO_DRAW: sent})
    assert prediction(at) == str(label)
    assert any(sent.caption in info.value for info in at.info)
    at.button(key="clear_sent").click().run()
    assert SENT_TO_DRAW not in at.session_state
    assert prediction(at) == "–"


def test_switching_off_crop_and_centre_changes_the_input() -> None:
    at = open_page(**{SENT_TO_DRAW: sent_test_image(1)})
    full = at.session_state[LAST_DRAWING].copy()
    at.toggle(key="crop").set_value(False).run()
    at.toggle(key="centre").set_value(False).run()
    assert not at.exception
    assert np.abs(at.session_state[LAST_DRAWING] - full).sum() > 1.0
    assert any("not centred" in caption for image in at.image for caption in image.captions)


def test_rendering_the_page_in_a_fresh_process_never_imports_tensorflow() -> None:
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(PROJECT_ROOT / 'app.py')!r}, default_timeout={APP_TIMEOUT})\n"
        f"at.switch_page({PAGE!r}).run()\n"
        "assert not at.exception, at.exception\n"
        "assert [m.value for m in at.metric if m.label == 'Prediction'] == ['–']\n"
        "print('tensorflow loaded:', 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=APP_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "tensorflow loaded: False" in result.stdout
