"""The Under-the-hood page: live code for the current settings, the forward pass by hand, the weights."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
from streamlit.testing.v1 import AppTest

from model.augment import AUGMENTED_COPIES
from model.config import TrainConfig, describe
from model.data import load_splits
from model.forward import NetworkWeights, predict_proba
from model.lesson_code import training_images
from model.storage import load_pretrained
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from ui.state import LAST_DRAWING, SESSION_MODEL, ActiveModel

PAGE = "app_pages/under_the_hood.py"


def open_page(**session: object) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def page_text(at: AppTest) -> str:
    parts = [element.value for element in (*at.markdown, *at.caption, *at.code)]
    return "\n".join(str(part) for part in parts)


def own_model(config: TrainConfig, training: bool = False) -> ActiveModel:
    rng = np.random.default_rng(2)
    sizes = [400, *config.hidden_units, 1]
    arrays = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        arrays += [rng.normal(0, 0.2, (fan_in, fan_out)), rng.normal(0, 0.2, fan_out)]
    weights = NetworkWeights.from_list(arrays, config.activation)
    return ActiveModel(weights, config, "session", "your model", training)


def test_bundled_model_is_explained_when_nothing_was_trained() -> None:
    at = open_page()
    text = page_text(at)
    assert "the bundled pretrained model" in text
    assert "Dense(25, activation='sigmoid')" in text
    assert "loss=BinaryCrossentropy()" in text
    assert "model.fit(X, y, epochs=100, batch_size=32)" in text
    images = training_images(700, load_pretrained().config)
    assert f"one pass over all {images:,} training images" in text
    assert len(at.latex) == 2 and "log" in at.latex[0].value
    # First-layer mosaic, then the second and output layers' heatmaps.
    captions = [caption for image in at.image for caption in image.captions]
    assert any(caption.startswith("Layer 2: 15 units × 25 inputs") for caption in captions)
    assert any(caption.startswith("Output layer: 1 unit × 15 inputs") for caption in captions)


def test_forward_pass_by_hand_shows_each_layer_and_the_probability() -> None:
    at = open_page()
    at.number_input(key="hood_test_image").set_value(7).run()
    assert not at.exception
    test = load_splits("bundled").test
    probability = float(predict_proba(load_pretrained().weights, test.x[7])[0])
    text = page_text(at)
    assert f"P(1) = {probability:.6f}" in text
    assert "(1×400) · (400×25) + (25,) → z (1×25)" in text
    assert "(1×15) · (15×1) + (1,) → z (1×1)" in text
    tables = [frame.value for frame in at.dataframe]
    assert [table.shape for table in tables] == [(2, 25), (2, 15), (2, 1)]
    assert list(tables[0].index) == ["z", "a"]
    assert tables[-1].iloc[1, 0] == round(probability, 4)


def test_current_drawing_can_be_the_input() -> None:
    drawing = load_splits("bundled").test.x[0].copy()
    at = open_page(**{LAST_DRAWING: drawing})
    at.segmented_control(key="hood_input").set_value("Your last drawing").run()
    assert not at.exception
    assert "your last drawing" in [caption for image in at.image for caption in image.captions]
    probability = float(predict_proba(load_pretrained().weights, drawing)[0])
    assert f"P(1) = {probability:.6f}" in page_text(at)


def test_learners_own_model_is_shown_with_its_settings() -> None:
    config = TrainConfig(
        hidden_units=(8, 6, 4), activation="relu", optimizer="sgd", learning_rate=0.05
    )
    at = open_page(**{SESSION_MODEL: own_model(config, training=True)})
    text = page_text(at)
    assert "700 training images: 22 batches, so 100 epochs make 2,200 steps" in text
    assert describe(config) in text
    assert "Dense(8, activation='relu')" in text and "Dense(4, activation='relu')" in text
    assert "optimizer=SGD(learning_rate=0.05)" in text
    assert "Updating while your model trains." in text
    assert [frame.value.shape for frame in at.dataframe] == [(2, 8), (2, 6), (2, 4), (2, 1)]
    captions = [caption for image in at.image for caption in image.captions]
    assert any(caption.startswith("Layer 3: 4 units × 6 inputs") for caption in captions)


def test_keras_check_agrees_to_1e_5() -> None:
    at = open_page()
    at.button(key="hood_keras").click().run()
    assert not at.exception
    assert len(at.success) == 1 and not at.error
    difference = float(at.success[0].value.rsplit("difference ", 1)[1])
    assert difference <= 1e-5


def test_rendering_the_page_does_not_import_tensorflow() -> None:
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(PROJECT_ROOT / 'app.py')!r}, default_timeout=120)\n"
        f"at.switch_page({PAGE!r}).run()\n"
        "assert not at.exception, at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_augmented_training_counts_the_varied_copies() -> None:
    at = open_page(**{SESSION_MODEL: own_model(TrainConfig(augment=True, epochs=10))})
    text = page_text(at)
    images = 700 * (1 + AUGMENTED_COPIES)
    batches = math.ceil(images / 32)
    assert (
        f"all {images:,} training images (700 originals, each with {AUGMENTED_COPIES} varied copies)"
        in text
    )
    assert f"{batches} batches, so 10 epochs make {10 * batches:,} steps" in text
