"""The persistent lab in AppTest: a run comes back in a new session, codes, lab files, deletion."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from store import labs as lab_store
from store import runs as run_store
from store.codes import WRONG_CODES_ALLOWED
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from tests.test_draw_page import sent_test_image
from tests.test_train_page import has_results, rerun_until
from ui.lab import LAB, database
from ui.lab_panel import lab_file_bytes
from ui.runs import RUNS
from ui.state import SENT_TO_DRAW

LAB_PAGE = "app_pages/lab.py"


def open_app(page: str, lab_id: str | None = None, **session: object) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if lab_id is not None:
        at.query_params["lab"] = lab_id
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def lab_of(at: AppTest):
    return at.session_state[LAB]


def test_every_session_gets_its_own_lab_with_its_id_in_the_address_bar() -> None:
    first, second = open_app("app_pages/home.py"), open_app("app_pages/home.py")
    assert lab_of(first).id != lab_of(second).id
    assert first.query_params["lab"] == lab_of(first).id
    assert lab_of(first).code in texts(first.sidebar.code)


def test_a_run_trained_in_one_session_comes_back_in_the_next_with_the_same_lab_id() -> None:
    at = open_app("app_pages/train.py")
    at.number_input(key="epochs").set_value(3).run()
    at.slider(key="units_1").set_value(6).run()
    at.button(key="train_button").click().run()
    rerun_until(at, has_results)
    lab_id = lab_of(at).id

    again = open_app("app_pages/train.py", lab_id)
    assert lab_of(again).id == lab_id
    (run,) = again.session_state[RUNS]
    assert run.status == "done" and len(run.history) == 3 and run.result_weights is not None
    assert run.result_weights.hidden_units == (6, 15)
    assert has_results(again)
    assert "Your model" in texts(again.sidebar.markdown)
    # Continue resumes with the stored optimizer state.
    assert run.optimizer_state is not None


def test_a_second_tab_of_the_lab_follows_the_training_run_and_gets_its_results() -> None:
    first = open_app("app_pages/train.py")
    # Batches of one: the run is still training when the second tab opens, however fast the
    # worker is.
    first.number_input(key="epochs").set_value(1000).run()
    first.number_input(key="batch_size").set_value(1).run()
    first.slider(key="units_1").set_value(7).run()
    first.button(key="train_button").click().run()
    rerun_until(first, lambda at: len(at.session_state[RUNS][-1].history) >= 2)
    second = open_app("app_pages/train.py", lab_of(first).id)
    assert second.session_state[RUNS][-1].job_id is not None
    second.button(key="stop_button").click().run()
    rerun_until(second, has_results)
    rerun_until(first, has_results)
    assert "lost" not in texts(second.warning)
    epochs = [len(at.session_state[RUNS][-1].history) for at in (first, second)]
    assert epochs[0] == epochs[1] >= 2
    assert all("Stopped" in texts(at.info) for at in (first, second))


def test_an_unknown_or_forged_lab_id_gets_a_notice_and_a_fresh_lab() -> None:
    for asked in ("A" * 32, "<script>alert(1)</script>", "x"):
        at = open_app("app_pages/home.py", asked)
        assert "does not exist" in texts(at.warning)
        assert lab_of(at).id != asked and at.query_params["lab"] == lab_of(at).id


def test_a_resume_code_opens_the_lab_and_wrong_codes_are_refused_then_blocked() -> None:
    owner = open_app(LAB_PAGE)
    code = lab_of(owner).code
    visitor = open_app(LAB_PAGE)
    visitor.text_input(key="resume_code").input("maple-otter-river-11")
    form_submit = next(button for button in visitor.button if button.label == "Open this lab")
    form_submit.click().run()
    assert "No lab has this code" in texts(visitor.error)
    visitor.text_input(key="resume_code").input(code.upper().replace("-", " "))
    next(button for button in visitor.button if button.label == "Open this lab").click().run()
    assert not visitor.exception
    assert lab_of(visitor).id == lab_of(owner).id
    assert "Opened the lab" in texts(visitor.success)


def test_too_many_wrong_codes_block_the_client_even_for_a_right_one(monkeypatch) -> None:
    engine = database()
    target = lab_store.create_lab(engine)
    for _ in range(WRONG_CODES_ALLOWED):
        lab_store.open_by_code(engine, "nothing-like-this-10", "unknown")
    at = open_app(LAB_PAGE)
    at.text_input(key="resume_code").input(target.code)
    next(button for button in at.button if button.label == "Open this lab").click().run()
    assert "Too many wrong codes" in texts(at.error)
    assert lab_of(at).id != target.id


def test_start_a_fresh_lab_keeps_the_old_one_reachable_by_its_code() -> None:
    at = open_app(LAB_PAGE)
    old = lab_of(at)
    at.button(key="fresh_lab").click().run()
    assert lab_of(at).id != old.id and old.code in texts(at.success)
    assert lab_store.find_lab(database(), old.id) is not None


def test_a_kept_drawing_is_stored_once_and_shown_on_the_lab_page() -> None:
    at = open_app("app_pages/draw.py", **{SENT_TO_DRAW: sent_test_image(1)})
    at.segmented_control(key="keep_label").set_value(1).run()
    at.button(key="keep_drawing").click().run()
    assert "Kept" in texts(at.success)
    at.button(key="keep_drawing").click().run()
    assert "already kept" in texts(at.info)
    lab_id = lab_of(at).id
    page = open_app(LAB_PAGE, lab_id)
    assert "1 of at most 500 drawings" in texts(page.caption)
    assert page.multiselect(key="delete_drawings").options == ["#1"]


def test_the_lab_file_round_trips_into_another_lab_and_bad_files_change_nothing() -> None:
    engine = database()
    source = lab_store.create_lab(engine)
    run_store.add_run(engine, source.id, run_store.TrainConfig(hidden_units=(2,)), "done")
    data = lab_file_bytes(source.id)
    at = open_app(LAB_PAGE)
    target = lab_of(at)
    at.file_uploader(key="import_lab_file").set_value(("lab.zip", data, "application/zip")).run()
    assert "It holds 1 run and 0 drawings" in texts(at.info)
    at.button(key="import_go").click().run()
    assert not at.exception and "Added 1 run" in texts(at.success)
    assert [run.config.hidden_units for run in run_store.load_runs(engine, target.id)] == [(2,)]
    assert not any(button.key == "import_go" for button in at.button)

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("lab.json", "{not json")
    for name, payload in (("cut.zip", data[: len(data) // 2]), ("bad.zip", broken.getvalue())):
        at.file_uploader(key="import_lab_file").set_value((name, payload, "application/zip")).run()
        assert not at.exception and at.error
        assert at.get("button") and not any(b.key == "import_go" for b in at.button)
    assert len(run_store.load_runs(engine, target.id)) == 1


def test_delete_my_lab_removes_it_and_opens_a_fresh_one() -> None:
    at = open_app(LAB_PAGE)
    old = lab_of(at)
    assert at.button(key="delete_lab_go").proto.disabled
    at.checkbox(key="delete_lab_sure").check().run()
    at.button(key="delete_lab_go").click().run()
    assert lab_store.find_lab(database(), old.id) is None
    assert lab_of(at).id != old.id and "was deleted" in texts(at.success)


@pytest.mark.parametrize("page", ["app_pages/data.py", "app_pages/under_the_hood.py", LAB_PAGE])
def test_every_page_keeps_the_lab_in_the_address_bar(page: str) -> None:
    at = open_app(page)
    assert at.query_params["lab"] == lab_of(at).id
