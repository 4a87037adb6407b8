"""What one learner of the classroom benchmark does: train, check its results, draw a 1.

The steps are written once, against a `Tabs` that opens the Train page: Chromium tabs driven by
Playwright (`bench/class_browser.py`) or headless sessions that speak the page's websocket
protocol and render nothing (`bench/class_headless.py`).
"""

from __future__ import annotations

import asyncio
import re
import statistics
from dataclasses import dataclass, field
from typing import Protocol

from model.config import TrainConfig, describe, parameter_counts

TRAINING_SHOWN = re.compile(
    r"Waiting for a free training process|Epoch \d+ of \d+|Starting the training processes"
    r"|Paused after \d+ epochs?|Paused while its augmented copies"
)
# The estimate beside Train warns of a long run (`model.limits.long_run_warning`): not a failure.
LONG_RUN_NOTICE = re.compile("shared with everyone using it")
# Learners arrive over a minute, not in one instant; the page loads are not timed, and thirty
# at once would only measure this machine's browser.
PAGES_LOADING_AT_ONCE = 4
# The class uses 10+i units in the first layer; the single runs, alone, get shapes of their
# own too (a network shape new to the workers costs a trace), and the median of them is used.
# Shapes are the engine's padded widths (`model.config.padded_units`): these are 48-32, 48-48
# and 48-64, none the class's (16, 32 or 48 wide, then 16), each as costly as a 40-unit run.
SINGLE_RUN_UNITS = ((40, 20), (40, 36), (40, 52))
FIRST_CLASS_UNITS = 10
SECOND_LAYER_UNITS = 15
FIRST_SEED = 100
# `--hogs`: sessions that first start runs of this much work (each its own first-layer size),
# on a server whose run cap lets them (bench/classroom.py lifts it); then the class's default runs.
HOG_UNITS, HOG_EPOCHS, HOG_BATCH = (128, 128, 120), 1000, 1
# Before the class, once the hogs hold every worker and have left the first service band,
# learners who arrive one at a time (each its own network shape): the issue's "a new default
# run starts within a couple of seconds even when every worker is busy with long runs".
LATE_ARRIVAL_UNITS = ((60, 15), (61, 15), (62, 15))
# Long enough for the hogs to take both workers back (and train past 3 s) before each arrival.
LATE_ARRIVAL_GAP_SECONDS = 8.0


@dataclass
class SessionResult:
    index: int
    units: tuple[int, ...]
    pressed_at: float | None = None
    results_at: float | None = None
    prediction: str | None = None
    leaks: list[str] = field(default_factory=list)
    error: str | None = None
    # Runs of its pages the server made for this session (whole page, fragment), if known.
    page_runs: tuple[int, int] | None = None

    @property
    def seconds(self) -> float | None:
        if self.pressed_at is None or self.results_at is None:
            return None
        return self.results_at - self.pressed_at


@dataclass(frozen=True)
class OwnResults:
    """What the Train page shows of this session's own network once its run 1 is done."""

    network: str
    heading: str
    second_run: str
    parameter_total: str
    model: str


def own_results_checks(config: TrainConfig) -> OwnResults:
    return OwnResults(
        network=f"Network: {describe(config)}",
        heading="Run 1",
        second_run="Run 2",
        parameter_total=f"Total parameters: {sum(parameter_counts(config)):,} (weights and biases",
        model=describe(config),
    )


def own_model_on_draw(config: TrainConfig) -> str:
    """The Draw page's "Answering now" text for this session's run 1."""
    return f"your model from run 1 ({describe(config)}, {config.epochs} epochs"


class Tab(Protocol):
    """One learner's Train page, open in its own session."""

    async def press_train(self, result: SessionResult) -> None: ...

    async def wait_for_results(self, result: SessionResult, timeout: float) -> None: ...

    async def check_own_results(self, config: TrainConfig, result: SessionResult) -> None: ...

    async def draw_a_one(self, config: TrainConfig, result: SessionResult) -> None: ...

    def page_runs(self) -> tuple[int, int] | None: ...

    async def close(self) -> None: ...


class Tabs(Protocol):
    async def open_train(self, query: str, config: TrainConfig) -> Tab: ...


class Countdown:
    """An event set once every party has arrived (or given up)."""

    def __init__(self, parties: int) -> None:
        self.left = parties
        self.done = asyncio.Event()
        if parties <= 0:
            self.done.set()

    def arrive(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.done.set()


def train_query(units: tuple[int, ...], seed: int) -> str:
    return f"units={','.join(map(str, units))}&seed={seed}"


async def single_run(tabs: Tabs, timeout: float) -> float:
    """Warm the pool with a one-epoch run, then time default runs alone (100 epochs, batch 32)
    and return the median."""
    warm_config = TrainConfig(hidden_units=(5,), epochs=1)
    tab = await tabs.open_train("units=5&epochs=1", warm_config)
    try:
        warm = SessionResult(-1, (5,))
        await tab.press_train(warm)
        await tab.wait_for_results(warm, timeout)
    finally:
        await tab.close()
    seconds = []
    for units in SINGLE_RUN_UNITS:
        config = TrainConfig(hidden_units=units, seed=1)
        tab = await tabs.open_train(train_query(units, 1), config)
        try:
            timed = SessionResult(0, units)
            await tab.press_train(timed)
            await tab.wait_for_results(timed, timeout)
            seconds.append(timed.seconds)
        finally:
            await tab.close()
    return statistics.median(seconds)


async def one_learner(
    tabs: Tabs,
    index: int,
    loading: asyncio.Semaphore,
    loaded: Countdown,
    pressed: Countdown,
    timeout: float,
) -> SessionResult:
    units = (FIRST_CLASS_UNITS + index, SECOND_LAYER_UNITS)
    config = TrainConfig(hidden_units=units, seed=FIRST_SEED + index)
    result = SessionResult(index, units)
    gates = [loaded, pressed]
    tab = None
    step = "opening the Train page"
    try:
        async with loading:
            tab = await tabs.open_train(train_query(units, config.seed), config)
        gates.pop(0).arrive()
        await loaded.done.wait()
        step = "pressing Train"
        await tab.press_train(result)
        gates.pop(0).arrive()
        step = "training"
        await tab.wait_for_results(result, timeout)
        step = "checking the results"
        await tab.check_own_results(config, result)
        step = "drawing"
        await tab.draw_a_one(config, result)
    except Exception as error:
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        result.error = f"{step}: {type(error).__name__}: {first_line}"
    finally:
        for gate in gates:
            gate.arrive()
        if tab is not None:
            result.page_runs = tab.page_runs()
            await tab.close()
    return result


async def start_hog(tabs: Tabs, index: int) -> Tab:
    """A session that starts the most work one run may ask for and stays open."""
    units = (*HOG_UNITS[:-1], HOG_UNITS[-1] + index)
    config = TrainConfig(hidden_units=units, epochs=HOG_EPOCHS, batch_size=HOG_BATCH)
    query = f"{train_query(units, 1)}&epochs={HOG_EPOCHS}&batch={HOG_BATCH}"
    tab = await tabs.open_train(query, config)
    await tab.press_train(SessionResult(-2 - index, units))
    return tab


async def late_arrivals(tabs: Tabs, timeout: float) -> None:
    """Default runs pressed one at a time while the hogs train (their waits are in the job log)."""
    for index, units in enumerate(LATE_ARRIVAL_UNITS):
        await asyncio.sleep(LATE_ARRIVAL_GAP_SECONDS)
        config = TrainConfig(hidden_units=units, seed=1)
        tab = await tabs.open_train(train_query(units, 1), config)
        try:
            late = SessionResult(100 + index, units)
            await tab.press_train(late)
            await tab.wait_for_results(late, timeout)
        finally:
            await tab.close()
