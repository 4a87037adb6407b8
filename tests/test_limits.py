"""The cost model and the caps: estimates before and after measurements, messages that say what to lower."""

from __future__ import annotations

import pytest

from model.augment import AUGMENTED_COPIES
from model.config import TrainConfig
from model.cost import (
    PRIOR_COPY_SECONDS,
    START_LAYER_SECONDS,
    START_SECONDS,
    CostModel,
    preparation_seconds,
    prior_epoch_seconds,
    prior_tracing_seconds,
    steps_per_epoch,
)
from model.limits import (
    SETTING_ADVICE,
    Limits,
    client_cap_problem,
    costliest_setting,
    format_duration,
    long_run_warning,
    run_cap_problem,
)

LESSON = TrainConfig()
HOG = TrainConfig(hidden_units=(128, 128, 128), epochs=1000, batch_size=1, augment=True)
# The same without the augmented copies, which otherwise cost the most of all.
PLAIN_HOG = HOG.with_changes(augment=False)


def test_steps_per_epoch_follow_the_batch_and_the_augmented_copies() -> None:
    assert steps_per_epoch(LESSON) == 22
    assert steps_per_epoch(LESSON.with_changes(batch_size=1)) == 700
    copies = 1 + AUGMENTED_COPIES
    assert steps_per_epoch(LESSON.with_changes(batch_size=1, augment=True)) == 700 * copies
    assert steps_per_epoch(LESSON.with_changes(batch_size=1, train_size=10)) == 10
    assert steps_per_epoch(LESSON.with_changes(batch_size=5000)) == 1


def test_the_prior_puts_the_lessons_run_at_seconds_and_the_hog_at_many_minutes() -> None:
    cost = CostModel()
    assert 1.0 < cost.run_seconds(LESSON) < 5.0
    assert cost.run_seconds(HOG) > 10 * 60
    assert prior_epoch_seconds(HOG) > 100 * prior_epoch_seconds(LESSON)


def test_measurements_replace_the_prior_and_calibrate_unmeasured_shapes() -> None:
    cost = CostModel()
    slow = prior_epoch_seconds(LESSON) * 3
    for _ in range(20):
        cost.observe(LESSON, slow)
    assert cost.epoch_seconds(LESSON) == pytest.approx(slow)
    start = cost.start_seconds(LESSON)
    assert cost.run_seconds(LESSON, epochs=10) == pytest.approx(start + 10 * slow)
    # A shape never measured is estimated as slower than the prior too.
    other = LESSON.with_changes(hidden_units=(40,))
    assert cost.epoch_seconds(other) == pytest.approx(3 * prior_epoch_seconds(other), rel=0.01)
    cost.observe(LESSON, float("nan"))
    assert cost.epoch_seconds(LESSON) == pytest.approx(slow)
    # The XLA graph's epochs are that shape's own: they do not move the estimate of new shapes.
    for _ in range(20):
        cost.observe(other, prior_epoch_seconds(other) / 10, compiled=True)
    assert cost.epoch_seconds(other) == pytest.approx(prior_epoch_seconds(other) / 10)
    assert cost.factor == pytest.approx(3, rel=0.01)
    # A shape a worker has traced starts without the tracing.
    assert cost.start_seconds(LESSON, traced=True) < cost.start_seconds(LESSON)
    # Widths the engine pads to the same shape train the same graph: one measurement serves both.
    assert cost.epoch_seconds(LESSON.with_changes(hidden_units=(30, 12))) == pytest.approx(slow)


def test_a_workers_warm_up_scales_the_prior_for_tracing_and_epochs() -> None:
    cost = CostModel()
    big = HOG.with_changes(augment=False)
    tracing = prior_tracing_seconds(LESSON)
    cost.calibrate(LESSON, 2 * tracing, 3 * prior_epoch_seconds(LESSON))
    assert cost.start_seconds(big) == pytest.approx(2 * prior_tracing_seconds(big))
    assert cost.epoch_seconds(big) == pytest.approx(3 * prior_epoch_seconds(big))
    assert not cost.measured
    augmented = LESSON.with_changes(augment=True)
    cost.calibrate(LESSON, 2 * tracing, 3 * prior_epoch_seconds(LESSON), copy=0.01)
    copies = 700 * AUGMENTED_COPIES
    assert cost.start_seconds(augmented) == pytest.approx(2 * tracing + copies * 0.01)
    cost.calibrate(LESSON, float("nan"), 0.0)
    assert cost.start_seconds(big) == pytest.approx(2 * prior_tracing_seconds(big))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "under a second"), (2.2, "about 3 s"), (59, "about 59 s"), (1500, "about 25 min")],
)
def test_durations_read_like_speech(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert format_duration(2 * 3600 + 600) == "about 2 h 10 min"


def test_augmentation_costs_its_copies_before_the_first_epoch() -> None:
    cost = CostModel()
    augmented = LESSON.with_changes(augment=True)
    assert preparation_seconds(LESSON) == 0.0
    copies = 700 * AUGMENTED_COPIES
    assert preparation_seconds(augmented) == pytest.approx(copies * PRIOR_COPY_SECONDS)
    assert preparation_seconds(augmented.with_changes(train_size=100)) == pytest.approx(
        100 * AUGMENTED_COPIES * PRIOR_COPY_SECONDS
    )
    assert cost.start_seconds(augmented) == pytest.approx(
        cost.start_seconds(LESSON) + preparation_seconds(augmented)
    )
    # Each layer of weights has its step traced: a deeper network takes longer to start.
    deeper = LESSON.with_changes(hidden_units=(25, 15, 10))
    assert cost.start_seconds(deeper) == pytest.approx(
        cost.start_seconds(LESSON) + START_LAYER_SECONDS
    )
    assert cost.start_seconds(LESSON) == pytest.approx(START_SECONDS + 3 * START_LAYER_SECONDS)


def test_the_costliest_setting_is_the_one_whose_lesson_value_saves_most() -> None:
    cost = CostModel()
    assert costliest_setting(LESSON, cost) is None
    assert costliest_setting(LESSON.with_changes(epochs=1000), cost) == "epochs"
    assert costliest_setting(HOG, cost) == "augment"
    assert costliest_setting(PLAIN_HOG, cost) == "batch_size"
    # Fewer epochs than the lesson's are never to blame.
    assert costliest_setting(LESSON.with_changes(epochs=10, batch_size=1), cost) == "batch_size"


def test_a_long_run_is_warned_about_naming_its_costliest_slider() -> None:
    cost = CostModel()
    assert long_run_warning(LESSON, cost) is None
    warning = long_run_warning(LESSON.with_changes(epochs=1000, batch_size=2), cost)
    assert warning is not None and "Batch size costs the most" in warning


def test_the_run_cap_says_what_to_lower() -> None:
    cost = CostModel()
    limits = Limits(max_run_seconds=600)
    assert run_cap_problem(LESSON, cost, limits) is None
    problem = run_cap_problem(HOG, cost, limits)
    assert problem is not None and "at most about 10 min" in problem
    assert SETTING_ADVICE["augment"] in problem
    assert "raise Batch size" in run_cap_problem(PLAIN_HOG, cost, Limits(max_run_seconds=60))
    assert run_cap_problem(HOG, cost, Limits(max_run_seconds=10**6)) is None


def test_the_client_cap_counts_unfinished_runs() -> None:
    limits = Limits(max_runs_per_client=3)
    assert client_cap_problem(2, limits) is None
    assert "3 runs" in client_cap_problem(3, limits)


def test_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ZOL_MAX_RUN_SECONDS", "30")
    monkeypatch.setenv("ZOL_MAX_RUNS_PER_CLIENT", "1")
    assert Limits.from_env() == Limits(30.0, 1)
    monkeypatch.delenv("ZOL_MAX_RUN_SECONDS")
    monkeypatch.delenv("ZOL_MAX_RUNS_PER_CLIENT")
    assert Limits.from_env() == Limits()
