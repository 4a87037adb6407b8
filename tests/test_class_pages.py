"""The class space in AppTest: a teacher and students in separate sessions, moderation, the board."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from model.data import load_splits
from store import class_board
from store import classes as class_store
from store.schema import code_attempts
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from tests.test_draw_page import sent_test_image
from tests.test_lab_page import lab_of, open_app, texts
from tests.test_train_page import has_results, rerun_until
from ui.classroom import TEACHER_KEY
from ui.lab import database
from ui.runs import RUNS
from ui.share import SETTINGS
from ui.state import SENT_TO_DRAW

CLASS_PAGE = "app_pages/classroom.py"
BOARD_PAGE = "app_pages/board.py"
DRAW_PAGE = "app_pages/draw.py"
TRAIN_PAGE = "app_pages/train.py"


@pytest.fixture(autouse=True)
def no_wrong_codes_so_far() -> None:
    """AppTest sessions have no address: they share one count of wrong codes (another test
    module uses it up on purpose)."""
    with database().begin() as connection:
        connection.execute(delete(code_attempts))


def start_class():
    teacher = open_app(CLASS_PAGE)
    teacher.button(key="start_class").click().run()
    assert not teacher.exception, teacher.exception
    key = teacher.session_state[TEACHER_KEY]
    assert teacher.query_params["teacher"] == key
    class_space = class_store.class_for_teacher(database(), key)
    return teacher, key, class_space


def join(code: str, nickname: str, lab_id: str | None = None):
    student = open_app(CLASS_PAGE, lab_id)
    student.text_input(key="join_code").input(code)
    student.text_input(key="join_nickname").input(nickname)
    next(button for button in student.button if button.label == "Join the class").click().run()
    assert not student.exception, student.exception
    return student


def with_teacher_link(key: str, page: str = CLASS_PAGE) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    at.query_params["teacher"] = key
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def everything_shown(at) -> str:
    parts = [texts(at.markdown), texts(at.caption), texts(at.error), texts(at.success)]
    parts += [texts(at.info), texts(at.warning)]
    return " ".join(parts)


def test_a_teacher_starts_a_class_and_sees_its_code_qr_code_and_links() -> None:
    teacher, key, class_space = start_class()
    shown = everything_shown(teacher)
    assert class_space.join_code in shown
    assert any(f"join={class_space.join_code}" in block.value for block in teacher.code)
    assert any(f"teacher={key}" in block.value for block in teacher.code)
    assert len(teacher.get("image")) == 1
    # The teacher link opens the class again in a new session (another device, a reload).
    again = with_teacher_link(key)
    assert class_space.join_code in everything_shown(again)
    assert any(button.key == "delete_class" for button in again.button)


def test_a_student_joins_with_the_code_and_a_nickname_and_can_leave_keeping_the_lab() -> None:
    _, _, class_space = start_class()
    student = join(class_space.join_code.lower(), "Ada L")
    assert "as **Ada L**" in texts(student.success)
    lab_id = lab_of(student).id
    assert class_store.membership(database(), lab_id)[1].nickname == "Ada L"
    student.button(key="leave_class").click().run()
    assert class_store.membership(database(), lab_id) is None
    assert lab_of(student).id == lab_id


def test_bad_codes_and_nicknames_get_clear_messages() -> None:
    _, key, class_space = start_class()
    assert "code" in texts(join("ZZZZZZ", "Bo").error).lower()
    join(class_space.join_code, "Bo")
    assert "already called" in texts(join(class_space.join_code, " bo ").error)
    markup = join(class_space.join_code, "<b>x</b>")
    assert markup.error and not class_board.roster(database(), class_space.id)[1:]
    assert join(class_space.join_code, "x" * 25).error
    assert join(class_space.join_code, "   ").error
    class_store.set_joining(database(), key, False)
    assert "closed" in texts(join(class_space.join_code, "Cy").error)


def test_a_forged_teacher_key_is_refused_and_teaches_nothing() -> None:
    start_class()
    teacher = with_teacher_link("forged-" + "A" * 32)
    assert "not valid" in texts(teacher.error)
    assert TEACHER_KEY not in teacher.session_state
    assert not any(button.key == "delete_class" for button in teacher.button)


def test_a_drawing_goes_from_the_draw_page_through_approval_to_the_board() -> None:
    teacher, key, class_space = start_class()
    student = join(class_space.join_code, "Dee")
    lab_id = lab_of(student).id
    draw = open_app(DRAW_PAGE, lab_id, **{SENT_TO_DRAW: sent_test_image(1)})
    draw.button(key="add_to_class").click().run()
    assert "digit you meant" in texts(draw.error)
    draw.segmented_control(key="keep_label").set_value(1).run()
    draw.button(key="add_to_class").click().run()
    assert "once your teacher approves" in texts(draw.success)
    draw.button(key="add_to_class").click().run()
    assert "already" in texts(draw.error).lower()

    board = open_app(BOARD_PAGE, **{TEACHER_KEY: key})
    assert "No approved drawing yet" in texts(board.caption)
    teacher.run()
    (pending,) = class_board.class_drawings(database(), class_space.id, "pending")
    teacher.button(key=f"approve_{pending.id}").click().run()
    assert not teacher.exception
    board.run()
    assert "1 drawing; the bundled model reads 1 correctly" in texts(board.caption)
    approved = class_board.class_drawings(database(), class_space.id, "approved")
    assert [drawing.nickname for drawing in approved] == ["Dee"]


def test_a_students_finished_run_is_on_the_board_unless_sharing_is_off() -> None:
    _, key, class_space = start_class()
    student = join(class_space.join_code, "Eve")
    lab_id = lab_of(student).id
    train = open_app(TRAIN_PAGE, lab_id)
    train.number_input(key="epochs").set_value(3).run()
    train.button(key="train_button").click().run()
    rerun_until(train, has_results)
    board = open_app(BOARD_PAGE, **{TEACHER_KEY: key})
    assert [run.nickname for run in class_board.shared_runs(database(), class_space.id)] == ["Eve"]
    assert "No shared run yet" not in texts(board.caption)
    student.run()
    student.toggle(key="share_runs").set_value(False).run()
    assert class_board.shared_runs(database(), class_space.id) == []


def test_a_student_removed_while_training_keeps_training_in_their_own_lab() -> None:
    teacher, _key, class_space = start_class()
    student = join(class_space.join_code, "Fay")
    lab_id = lab_of(student).id
    train = open_app(TRAIN_PAGE, lab_id)
    train.number_input(key="epochs").set_value(1000).run()
    train.number_input(key="batch_size").set_value(1).run()
    train.button(key="train_button").click().run()
    teacher.run()
    teacher.selectbox(key="remove_student_choice").set_value(lab_id)
    next(button for button in teacher.button if button.label == "Remove").click().run()
    assert class_store.membership(database(), lab_id) is None
    train.button(key="stop_button").click().run()
    rerun_until(train, has_results)
    assert not train.exception
    student.run()
    assert any(button.label == "Join the class" for button in student.button)


def test_the_board_without_a_class_says_how_to_get_one() -> None:
    board = open_app(BOARD_PAGE)
    assert "join a class first" in texts(board.info)


def test_the_setup_a_teacher_attaches_is_what_joining_students_get() -> None:
    _teacher, key, class_space = start_class()
    class_store.set_train_link(database(), key, "units=7&hide=units")
    student = join(class_space.join_code, "Gus")
    train = open_app(TRAIN_PAGE, lab_of(student).id)
    settings = train.session_state[SETTINGS]
    assert settings.config.hidden_units == (7,) and "hidden_units" in settings.hidden
    # A link's own settings still win over the class's.
    linked = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    linked.query_params["lab"] = lab_of(student).id
    linked.query_params["units"] = "9"
    linked.switch_page(TRAIN_PAGE).run()
    assert linked.session_state[SETTINGS].config.hidden_units == (9,)


def approve_drawings(key: str, lab_id: str, labels: list[int]) -> None:
    engine = database()
    test = load_splits("bundled").test
    for index, label in enumerate(labels):
        pixels = test.x[np.flatnonzero(test.y == label)[index]].reshape(20, 20)
        drawing = class_board.submit_drawing(engine, lab_id, pixels, label, now=1000.0 + 60 * index)
        class_board.review_drawing(engine, key, drawing.id, True)


def test_a_member_trains_on_the_class_drawings_and_sees_its_score_on_them() -> None:
    _, key, class_space = start_class()
    student = join(class_space.join_code, "Hal")
    lab_id = lab_of(student).id
    outsider = open_app(TRAIN_PAGE)
    assert "class" not in outsider.radio(key="dataset").options
    train = open_app(TRAIN_PAGE, lab_id)
    train.radio(key="dataset").set_value("class").run()
    train.number_input(key="epochs").set_value(3).run()
    train.button(key="train_button").click().run()
    # Not enough approved drawings yet: a clear refusal, nothing queued.
    assert "cannot be trained on yet" in texts(train.error)
    approve_drawings(key, lab_id, [0, 1, 0, 1, 1, 0])
    train.button(key="train_button").click().run()
    rerun_until(train, has_results)
    scores = [metric for metric in train.metric if metric.label == "Our class's drawings"]
    assert len(scores) == 1 and scores[0].value.endswith("%")
    # The 150 bundled test images and 30 % of the 6 class drawings.
    run = train.session_state[RUNS][-1]
    assert run.config.dataset == "class" and len(run.test.labels) == 152


def test_approve_all_takes_every_waiting_drawing_at_once() -> None:
    teacher, _, class_space = start_class()
    lab_id = lab_of(join(class_space.join_code, "Ivy")).id
    test = load_splits("bundled").test
    for index in range(3):
        class_board.submit_drawing(
            database(), lab_id, test.x[index].reshape(20, 20), int(test.y[index])
        )
    teacher.run()
    teacher.button(key="approve_all").click().run()
    assert not teacher.exception
    assert class_board.class_drawings(database(), class_space.id, "pending") == []
    assert len(class_board.class_drawings(database(), class_space.id, "approved")) == 3
    assert "Nothing to review" in texts(teacher.caption)
