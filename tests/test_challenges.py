"""The class challenges' rules: who leads, ties, runs that do not qualify, each student's best."""

from __future__ import annotations

import pytest

from model.challenges import (
    CLASS_ACCURACY,
    FEWEST_EPOCHS,
    FEWEST_PARAMETERS,
    BoardRun,
    best_by_student,
    leaderboard,
)
from model.config import TrainConfig
from model.epochs import EpochLog


def history(*val_accuracies: float) -> tuple[EpochLog, ...]:
    return tuple(
        EpochLog(epoch, 0.1, value, 0.1, value)
        for epoch, value in enumerate(val_accuracies, start=1)
    )


def run(nickname: str, number: int, units: tuple[int, ...], class_accuracy, *val) -> BoardRun:
    config = TrainConfig(hidden_units=units, epochs=len(val))
    return BoardRun(
        f"{nickname}-{number}",
        nickname,
        number,
        config,
        0.99,
        class_accuracy,
        history(*val),
    )


RUNS = [
    run("ada", 1, (25, 15), 0.90, 0.95, 0.99, 0.995),
    run("ada", 2, (4,), 0.95, 0.97, 0.98, 0.99),
    run("bo", 1, (2,), 0.95, 0.99),
    run("cy", 1, (64,), None, 0.5, 0.6),
]


def test_class_accuracy_ranks_each_students_best_run_and_ties_share_a_rank() -> None:
    standings = leaderboard(CLASS_ACCURACY, RUNS)
    assert [(s.rank, s.run.nickname, s.run.number) for s in standings] == [
        (1, "ada", 2),
        (1, "bo", 1),
    ]
    assert standings[0].score == "95.0% of the class's drawings"


def test_fewest_parameters_counts_only_runs_that_reach_the_target() -> None:
    standings = leaderboard(FEWEST_PARAMETERS, RUNS)
    assert [s.run.run_id for s in standings] == ["bo-1", "ada-2"]
    assert standings[0].score == f"{RUNS[2].parameters:,} parameters"


def test_fewest_epochs_counts_the_first_epoch_at_the_target() -> None:
    standings = leaderboard(FEWEST_EPOCHS, RUNS)
    assert [(s.run.run_id, s.score) for s in standings] == [
        ("bo-1", "1 epoch"),
        ("ada-1", "2 epochs"),
    ]


def test_best_by_student_prefers_the_class_score_then_mnist() -> None:
    best = best_by_student(RUNS)
    assert [(r.nickname, r.number) for r in best] == [("ada", 2), ("bo", 1), ("cy", 1)]


def test_an_unknown_challenge_is_refused() -> None:
    with pytest.raises(ValueError):
        leaderboard("fastest_typist", RUNS)
