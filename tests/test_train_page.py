"""The Train page in AppTest: defaults, bad values rejected, a short run to results, Stop, Continue, Reset."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from streamlit.testing.v1 import AppTest

from model.jobs import ORPHANED_MESSAGE
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT
from ui.job_pool import job_manager
from ui.runs import RUNS
from ui.state import SESSION_MODEL

RUN_TIMEOUT = 180


@pytest.fixture(scope="module", autouse=True)
def one_worker() -> Iterator[None]:
    # The pool is created at the first Train press; one worker keeps the test light.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOL_WORKERS", "1")
        yield


def open_train_page() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT).run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    return at


def rerun_until(at: AppTest, condition, timeout: float = RUN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if condition(at):
            return
        time.sleep(0.3)
    raise AssertionError("the page did not reach the expected state in time")


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


def has_results(at: AppTest) -> bool:
    return any(metric.label == "Test accuracy" for metric in at.metric)


def session_model(at: AppTest):
    """The model the Draw page would answer with (what current_model() returns)."""
    return at.session_state.get(SESSION_MODEL)


def test_controls_start_from_the_lessons_settings() -> None:
    at = open_train_page()
    assert at.number_input(key="epochs").value == 100
    assert at.slider(key="layers").value == 2
    assert [at.slider(key=f"units_{i}").value for i in (1, 2)] == [25, 15]
    assert at.select_slider(key="learning_rate").value == 0.001
    assert at.number_input(key="batch_size").value == 32
    assert any(
        "400 → 25 → 15 → 1 · sigmoid · 10,431 parameters" in text for text in texts(at.markdown)
    )
    assert at.button(key="stop_button").proto.disabled
    assert at.button(key="continue_button").proto.disabled
    code = next(block.value for block in at.code if "Sequential" in block.value)
    assert "Dense(25, activation='sigmoid')" in code and "epochs=100" in code


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("epochs", 0, "epochs must be 1 to 1000, got 0"),
        ("epochs", 5000, "epochs must be 1 to 1000, got 5000"),
        ("batch_size", 0, "batch size must be 1 to 16384, got 0"),
        ("seed", -3, "seed must be a whole number"),
    ],
)
def test_bad_values_are_rejected_with_a_message(key: str, value: int, message: str) -> None:
    at = open_train_page()
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(message in text for text in texts(at.error)), texts(at.error)
    assert at.button(key="train_button").proto.disabled
    at.number_input(key=key).set_value(7).run()
    assert not at.error and not at.button(key="train_button").proto.disabled


def test_a_short_run_reaches_the_results_and_can_be_continued_and_reset() -> None:
    at = open_train_page()
    at.number_input(key="epochs").set_value(3).run()
    at.slider(key="units_1").set_value(12).run()
    at.button(key="train_button").click().run()
    rerun_until(at, has_results)

    accuracy = next(metric for metric in at.metric if metric.label == "Test accuracy")
    assert accuracy.value.endswith("%")
    assert {metric.label for metric in at.metric} >= {"Precision", "Recall"}
    assert at.get("download_button")
    model = session_model(at)
    assert model.source == "session" and not model.training
    assert model.weights.hidden_units == (12, 15) and "3 epochs" in model.description
    at.slider(key="threshold").set_value(0.99).run()
    assert not at.exception

    at.number_input(key="epochs").set_value(2).run()
    at.button(key="continue_button").click().run()
    rerun_until(at, lambda at: has_results(at) and "5 epochs" in session_model(at).description)
    history = at.dataframe[-1].value
    assert list(history["epochs"]) == [5]

    at.button(key="reset_button").click().run()
    assert session_model(at) is None
    assert not has_results(at)


def test_stop_keeps_the_weights_trained_so_far() -> None:
    at = open_train_page()
    at.number_input(key="epochs").set_value(1000).run()
    at.number_input(key="batch_size").set_value(1).run()
    at.button(key="train_button").click().run()
    rerun_until(at, lambda at: session_model(at) is not None and session_model(at).training)
    at.button(key="stop_button").click().run()
    rerun_until(at, has_results)
    assert any("Stopped" in text for text in texts(at.info))
    assert session_model(at).source == "session" and not session_model(at).training


@contextmanager
def workers_stopped() -> Iterator[None]:
    """The pool's workers frozen (SIGSTOP) for the block: a job submitted in it cannot end in it."""
    manager = job_manager()
    assert manager.wait_until_ready(RUN_TIMEOUT)
    pids = manager.worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def training_tab(epochs: int, batch_size: int = 32) -> tuple[AppTest, int, str]:
    """A Train page that pressed Train, its job's id and the job's owner (the tab)."""
    at = open_train_page()
    at.number_input(key="epochs").set_value(epochs).run()
    at.number_input(key="batch_size").set_value(batch_size).run()
    at.button(key="train_button").click().run()
    job_id = at.session_state[RUNS][-1].job_id
    return at, job_id, job_manager().status(job_id).owner


def test_a_run_cancelled_while_the_tab_was_away_says_why() -> None:
    # Frozen workers: the job is still unfinished when the cancel comes, however fast they are.
    with workers_stopped():
        at, _, owner = training_tab(epochs=1000)
        # What the manager does on its own once a tab has been disconnected for the grace period.
        job_manager().cancel_owner(owner, reason=ORPHANED_MESSAGE.format(seconds=30))
        at.run()
    assert not at.exception, at.exception
    assert any("disconnected for more than 30 s" in text for text in texts(at.warning))


def test_a_finished_run_the_pool_forgot_while_the_tab_was_away_comes_back_from_the_lab() -> None:
    # A warm worker trains a short run within the press's own script run, and the page would
    # take its result there: frozen workers keep the job unfinished until the press is over.
    with workers_stopped():
        at, job_id, owner = training_tab(epochs=20)
    manager = job_manager()
    assert manager.wait(job_id, lambda view: view.finished, RUN_TIMEOUT).state == "done"
    # The tab was starved long enough for the pool to forget the finished job unread.
    manager.cancel_owner(owner, reason=ORPHANED_MESSAGE.format(seconds=30))
    at.run()
    assert not at.exception, at.exception
    assert has_results(at) and not at.warning
    assert len(at.session_state[RUNS][-1].history) == 20


def test_a_new_run_joins_the_history_comparison() -> None:
    at = open_train_page()
    at.number_input(key="epochs").set_value(2).run()
    at.button(key="train_button").click().run()
    rerun_until(at, has_results)
    assert at.multiselect(key="compare_runs").value == [1]
    at.button(key="train_button").click().run()
    rerun_until(at, lambda at: has_results(at) and at.session_state[RUNS][-1].number == 2)
    assert at.multiselect(key="compare_runs").value == [1, 2]


def test_data_controls_start_from_all_clean_data_and_reject_bad_sizes() -> None:
    at = open_train_page()
    assert at.number_input(key="train_size").value is None
    assert at.slider(key="label_noise").value == 0.0
    assert at.slider(key="input_noise").value == 0.0
    at.number_input(key="train_size").set_value(5).run()
    assert any("training images must be 10 to 700" in text for text in texts(at.error))
    assert at.button(key="train_button").proto.disabled
    at.number_input(key="train_size").set_value(10).run()
    at.slider(key="label_noise").set_value(0.2).run()
    at.slider(key="input_noise").set_value(0.3).run()
    assert not at.error
    params = {key: at.query_params[key] for key in at.query_params if key != "lab"}
    assert params == {"images": "10", "flip": "0.2", "noise": "0.3"}
    code = next(block.value for block in at.code if "Sequential" in block.value)
    assert "round(10 * np.mean(y == label))" in code and "rng.normal(0.0, 0.3" in code


def test_a_data_exercise_sets_its_controls_and_trains_on_ten_images() -> None:
    at = open_train_page()
    at.button(key="exercise_ten_images").click().run()
    assert at.number_input(key="train_size").value == 10
    at.number_input(key="epochs").set_value(3).run()
    at.button(key="train_button").click().run()
    rerun_until(at, has_results)
    assert "10 images" in at.session_state[RUNS][-1].label()


def test_the_expected_time_is_shown_beside_train_and_a_run_over_the_cap_is_refused() -> None:
    from model.cost import CostModel
    from model.limits import Limits

    manager = job_manager()
    kept, measured = manager.limits, manager.cost
    # The prior's speed: earlier tests' runs calibrate the pool's model, each test machine its own.
    manager.cost = CostModel()
    try:
        at = open_train_page()
        # The lesson's run: a second or so at the prior's speed, less once a worker has its
        # graph traced (every worker readies it while starting).
        assert any(
            re.search(r"Expected training time on this server: (about \d s|under a second)", text)
            for text in texts(at.caption)
        )
        at.number_input(key="epochs").set_value(1000).run()
        at.number_input(key="batch_size").set_value(1).run()
        assert any("costs the most" in text for text in texts(at.warning)), texts(at.warning)
        manager.limits = Limits(max_run_seconds=5.0)
        at.run()
        problem = " ".join(texts(at.error))
        assert "one run may use at most about 5 s" in problem and "raise Batch size" in problem
        assert at.button(key="train_button").proto.disabled
    finally:
        manager.limits, manager.cost = kept, measured
    at.run()
    assert not at.error and not at.button(key="train_button").proto.disabled


def _view(state: str, **fields):
    """A job's view as the pool gives it: job 7 of 100 epochs, no weights, as `fields` change it."""
    from model.jobs.api import JobView

    defaults = {
        "job_id": 7,
        "owner": "me",
        "state": state,
        "position": None,
        "epochs_done": 0,
        "epochs_total": 100,
        "history": (),
        "weights": None,
        "error": None,
        "error_kind": None,
        "result": None,
        "submitted_at": 0.0,
        "started_at": 0.5,
        "finished_at": None,
        "worker_pid": None,
    }
    return JobView(**(defaults | fields))


def _paused_progress(epochs_done: int) -> None:
    from model.config import TrainConfig
    from model.jobs.api import QUEUED
    from tests.test_train_page import _view
    from ui.runs import Run
    from ui.training import render_progress

    view = _view(
        QUEUED, position=3, epochs_done=epochs_done, estimated_wait=2.0, preempted=True, slices=1
    )
    render_progress(Run(1, TrainConfig(), job_id=7), view)


def test_a_run_paused_after_its_first_epoch_says_so_and_that_it_goes_on() -> None:
    at = AppTest.from_function(_paused_progress, args=(1,)).run(timeout=APP_TIMEOUT)
    text = at.info[0].value
    assert text.startswith("Paused after 1 epoch so that other runs can start")
    assert "it goes on by itself (you are number 3 in the queue, " in text


def test_a_run_paused_while_its_copies_were_made_says_so() -> None:
    at = AppTest.from_function(_paused_progress, args=(0,)).run(timeout=APP_TIMEOUT)
    text = at.info[0].value
    assert text.startswith("Paused while its augmented copies were being made")
    assert "0 epochs" not in text and "(you are number 3 in the queue, " in text


def test_the_live_view_reruns_the_page_when_the_run_ends_or_needs_the_other_pace() -> None:
    from model.jobs.api import DONE, QUEUED, RUNNING, STOPPED
    from ui.training import QUEUED_POLL_SECONDS, page_must_rerun

    # Ended, or gone: the results (or the loss) are the whole page's.
    assert page_must_rerun(None, polled_slowly=False)
    assert page_must_rerun(_view(DONE), polled_slowly=True)
    assert page_must_rerun(_view(STOPPED), polled_slowly=False)
    # The pace it is polled at still fits.
    assert not page_must_rerun(_view(RUNNING, work_left=5.0), polled_slowly=False)
    assert not page_must_rerun(_view(QUEUED), polled_slowly=True)
    # Paused for others: slow down.
    assert page_must_rerun(_view(QUEUED), polled_slowly=False)
    # Started from the queue: quick polls only for a run that outlasts a slow poll.
    assert not page_must_rerun(
        _view(RUNNING, work_left=QUEUED_POLL_SECONDS / 2), polled_slowly=True
    )
    assert page_must_rerun(_view(RUNNING, work_left=QUEUED_POLL_SECONDS * 3), polled_slowly=True)
    assert page_must_rerun(_view(RUNNING, work_left=None), polled_slowly=True)
