"""The caps that keep one learner from stalling a class: a run's estimated work, runs per client."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from model.config import TrainConfig
from model.cost import CostModel

# The most training one run may ask for, in seconds of a worker's time at this server's
# measured speed; and how many unfinished runs one client address may have at once.
MAX_RUN_SECONDS_ENV = "ZOL_MAX_RUN_SECONDS"
DEFAULT_MAX_RUN_SECONDS = 600.0
MAX_RUNS_PER_CLIENT_ENV = "ZOL_MAX_RUNS_PER_CLIENT"
DEFAULT_MAX_RUNS_PER_CLIENT = 3
# A run estimated to take longer than this gets a warning naming what makes it slow.
LONG_RUN_SECONDS = 60.0

# The lesson's settings a slow run is compared with, and how each is named on the page.
LESSON = TrainConfig()
SETTING_LABELS = {
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "hidden_units": "the units in the hidden layers",
    "augment": "the shifted, rotated and thickened copies",
    "dataset": "the dataset (full MNIST)",
}
SETTING_ADVICE = {
    "epochs": "lower Epochs",
    "batch_size": "raise Batch size",
    "hidden_units": "use fewer hidden layers or units",
    "augment": "switch off the shifted, rotated and thickened copies",
    "dataset": "use the bundled dataset",
}


@dataclass(frozen=True)
class Limits:
    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS
    max_runs_per_client: int = DEFAULT_MAX_RUNS_PER_CLIENT

    @classmethod
    def from_env(cls) -> Limits:
        seconds = os.environ.get(MAX_RUN_SECONDS_ENV)
        runs = os.environ.get(MAX_RUNS_PER_CLIENT_ENV)
        return cls(
            float(seconds) if seconds else DEFAULT_MAX_RUN_SECONDS,
            max(1, int(runs)) if runs else DEFAULT_MAX_RUNS_PER_CLIENT,
        )


def format_duration(seconds: float) -> str:
    """'about 3 s', 'about 40 s', 'about 4 min', 'about 2 h 10 min'."""
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"about {math.ceil(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h" + (f" {minutes} min" if minutes else "")


def costliest_setting(config: TrainConfig, cost: CostModel) -> str | None:
    """The setting whose return to the lesson's value would save the most time, if any would."""
    best, saved = None, 0.0
    seconds = cost.run_seconds(config)
    for name in SETTING_LABELS:
        lesson_value = getattr(LESSON, name)
        if getattr(config, name) == lesson_value:
            continue
        if name == "epochs" and config.epochs < lesson_value:
            continue
        if name == "batch_size" and config.batch_size > lesson_value:
            continue
        gain = seconds - cost.run_seconds(config.with_changes(**{name: lesson_value}))
        if gain > saved:
            best, saved = name, gain
    return best


def long_run_warning(config: TrainConfig, cost: CostModel) -> str | None:
    seconds = cost.run_seconds(config)
    if seconds < LONG_RUN_SECONDS:
        return None
    setting = costliest_setting(config, cost)
    blame = f" {SETTING_LABELS[setting].capitalize()} costs the most." if setting else ""
    return (
        f"This run needs {format_duration(seconds)} of training on this server, "
        f"shared with everyone using it.{blame}"
    )


def run_cap_problem(config: TrainConfig, cost: CostModel, limits: Limits) -> str | None:
    """Why this run is too big for the server, saying what to lower; None if it fits."""
    seconds = cost.run_seconds(config)
    if seconds <= limits.max_run_seconds:
        return None
    setting = costliest_setting(config, cost)
    advice = f" To fit, {SETTING_ADVICE[setting]}." if setting else ""
    return (
        f"This run would need {format_duration(seconds)} of training; one run may use at most "
        f"{format_duration(limits.max_run_seconds)} on this server.{advice}"
    )


def client_cap_problem(unfinished_runs: int, limits: Limits) -> str | None:
    if unfinished_runs < limits.max_runs_per_client:
        return None
    return (
        f"Your address already has {unfinished_runs} runs training or waiting, the most one "
        "computer may have at once here: wait for one of them to finish or stop one."
    )
