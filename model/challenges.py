"""A class's challenges: which shared run leads, and each student's best run, as pure rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from model.config import TrainConfig, parameter_counts
from model.epochs import EpochLog

# The validation accuracy the "fewest" challenges ask a run to reach.
TARGET_ACCURACY = 0.99
CLASS_ACCURACY = "class_accuracy"
FEWEST_PARAMETERS = "fewest_parameters"
FEWEST_EPOCHS = "fewest_epochs"
CHALLENGE_TITLES = {
    CLASS_ACCURACY: "Highest accuracy on the class's drawings",
    FEWEST_PARAMETERS: "Fewest parameters reaching 99 % validation accuracy",
    FEWEST_EPOCHS: "Fewest epochs to 99 % validation accuracy",
}


@dataclass(frozen=True)
class BoardRun:
    """One shared run as the board shows it."""

    run_id: str
    nickname: str
    number: int
    config: TrainConfig
    test_accuracy: float
    # Accuracy on the class's approved drawings; None while the class set is empty.
    class_accuracy: float | None
    history: tuple[EpochLog, ...]

    @property
    def parameters(self) -> int:
        return sum(parameter_counts(self.config))

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def epochs_to_target(self) -> int | None:
        """The first epoch (counted within the run) whose validation accuracy reached the target."""
        return next(
            (
                index
                for index, log in enumerate(self.history, start=1)
                if log.val_accuracy >= TARGET_ACCURACY
            ),
            None,
        )


@dataclass(frozen=True)
class Standing:
    rank: int
    run: BoardRun
    # What the run is ranked by, in words ("97.8 %", "1,234 parameters", "12 epochs").
    score: str


def leaderboard(challenge: str, runs: Sequence[BoardRun], limit: int = 10) -> list[Standing]:
    """Each student's best run for the challenge, best first; ties share a rank (listed by
    nickname). Runs that do not qualify (no class score, target never reached) are left out."""
    best: dict[str, tuple[tuple, BoardRun]] = {}
    for run in runs:
        key = _sort_key(challenge, run)
        if key is None:
            continue
        if run.nickname not in best or key < best[run.nickname][0]:
            best[run.nickname] = (key, run)
    ordered = sorted(best.values(), key=lambda item: (item[0], item[1].nickname.casefold()))
    standings: list[Standing] = []
    for position, (key, run) in enumerate(ordered[:limit], start=1):
        tied = standings and _sort_key(challenge, standings[-1].run)[0] == key[0]
        rank = standings[-1].rank if tied else position
        standings.append(Standing(rank, run, _score_text(challenge, run)))
    return standings


def best_by_student(runs: Sequence[BoardRun]) -> list[BoardRun]:
    """Each student's most accurate run on the class set (MNIST test accuracy if there is none
    yet), ordered by nickname."""
    best: dict[str, BoardRun] = {}
    for run in runs:
        current = best.get(run.nickname)
        if current is None or _accuracy_key(run) > _accuracy_key(current):
            best[run.nickname] = run
    return [best[name] for name in sorted(best, key=str.casefold)]


def _accuracy_key(run: BoardRun) -> tuple[float, float, int]:
    class_accuracy = -1.0 if run.class_accuracy is None else run.class_accuracy
    return (class_accuracy, run.test_accuracy, -run.parameters)


def _sort_key(challenge: str, run: BoardRun) -> tuple | None:
    """Smaller is better; None when the run does not qualify."""
    if challenge == CLASS_ACCURACY:
        if run.class_accuracy is None:
            return None
        return (-run.class_accuracy, -run.test_accuracy)
    reached = run.epochs_to_target
    if reached is None:
        return None
    if challenge == FEWEST_PARAMETERS:
        return (run.parameters, reached)
    if challenge == FEWEST_EPOCHS:
        return (reached, run.parameters)
    raise ValueError(f"unknown challenge {challenge!r}")


def _score_text(challenge: str, run: BoardRun) -> str:
    if challenge == CLASS_ACCURACY:
        return f"{run.class_accuracy:.1%} of the class's drawings"
    if challenge == FEWEST_PARAMETERS:
        return f"{run.parameters:,} parameters"
    epochs = run.epochs_to_target
    return f"{epochs} epoch" if epochs == 1 else f"{epochs} epochs"
