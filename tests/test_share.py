"""Shareable Train-page links in AppTest: settings from the URL, tampered links, hidden controls, exercises."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from model.config import TrainConfig
from model.exercises import EXERCISES
from model.url_settings import decode_settings, page_url
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from ui.share import SETTINGS

PAGE_SLUGS = ("data", "train", "draw", "under_the_hood")


def open_train_page(**params: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_a_shared_link_sets_the_controls() -> None:
    at = open_train_page(units="8,4,2", epochs="7", lr="0.01", act="relu", seed="42")
    assert at.slider(key="layers").value == 3
    assert [at.slider(key=f"units_{i}").value for i in (1, 2, 3)] == [8, 4, 2]
    assert at.number_input(key="epochs").value == 7
    assert at.select_slider(key="learning_rate").value == 0.01
    assert at.number_input(key="seed").value == 42
    assert not at.warning


def test_the_address_follows_the_controls_and_round_trips() -> None:
    at = open_train_page()
    # Only the lab's id: the lesson's settings are not written.
    assert set(at.query_params) == {"lab"}
    at.number_input(key="epochs").set_value(12).run()
    at.slider(key="units_1").set_value(30).run()
    params = {key: at.query_params[key] for key in at.query_params if key != "lab"}
    assert params == {"epochs": "12", "units": "30,15"}
    decoded = decode_settings(params)
    assert decoded.config == TrainConfig(epochs=12, hidden_units=(30, 15))
    assert decoded.notices == []


def test_a_tampered_link_falls_back_with_a_notice() -> None:
    at = open_train_page(units="9999", epochs="lots", lr="nan", colour="red")
    assert [at.slider(key=f"units_{i}").value for i in (1, 2)] == [25, 15]
    assert at.number_input(key="epochs").value == 100
    warnings = " ".join(str(warning.value) for warning in at.warning)
    assert "units='9999'" in warnings and "epochs='lots'" in warnings and "'colour'" in warnings


def test_a_teacher_link_hides_controls() -> None:
    at = open_train_page(hide="lr,seed,units", epochs="5")
    keys = {widget.key for widget in at.main if getattr(widget, "key", None)}
    assert {"learning_rate", "seed", "layers", "units_1"}.isdisjoint(keys)
    assert "epochs" in keys
    assert at.session_state[SETTINGS].config.epochs == 5
    assert at.query_params["hide"] == "units,lr,seed"


def test_an_exercise_card_sets_up_its_scenario() -> None:
    at = open_train_page()
    exercise = EXERCISES[0]
    at.button(key=f"exercise_{exercise.id}").click().run()
    assert not at.exception
    assert at.session_state[SETTINGS].config == exercise.config()
    assert at.slider(key="layers").value == len(exercise.config().hidden_units)


def test_page_url_swaps_the_page_of_any_address() -> None:
    assert page_url("http://host:8501/", "train", PAGE_SLUGS) == "http://host:8501/train"
    assert page_url("http://host/draw?x=1", "train", PAGE_SLUGS) == "http://host/train"
    assert page_url("https://h/base/data", "train", PAGE_SLUGS) == "https://h/base/train"
    assert page_url("https://h/base", "train", PAGE_SLUGS) == "https://h/base/train"
