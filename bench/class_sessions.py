"""What one browser session of the classroom benchmark does: train, check its results, draw a 1."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field

from model.config import TrainConfig, describe, parameter_counts

CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
NO_ANSWER = "–"
PAGE_TIMEOUT_MS = 120_000
# Generous: on this machine the browsers wait for CPU; a leak shows as other text, not as none.
CHECK_TIMEOUT_MS = 60_000
# Learners arrive over a minute, not in one instant; the page loads are not timed, and thirty
# at once would only measure this machine's browser.
PAGES_LOADING_AT_ONCE = 4
TRAINING_SHOWN = re.compile(
    r"Waiting for a free training process|Epoch \d+ of \d+|Starting the training processes"
    r"|Paused after \d+ epochs?"
)
# The estimate beside Train warns of a long run (`model.limits.long_run_warning`): not a failure.
LONG_RUN_NOTICE = re.compile("shared with everyone using it")
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

    @property
    def seconds(self) -> float | None:
        if self.pressed_at is None or self.results_at is None:
            return None
        return self.results_at - self.pressed_at


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


def train_url(base: str, units: tuple[int, ...], seed: int) -> str:
    return f"{base}/train?units={','.join(map(str, units))}&seed={seed}"


async def open_train_page(context, url: str, config: TrainConfig):
    from playwright.async_api import expect

    page = await context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    await page.goto(url)
    main = page.get_by_test_id("stMain")
    await expect(main.get_by_text(f"Network: {describe(config)}")).to_be_visible()
    return page


def results_shown(page):
    return page.get_by_test_id("stMetric").filter(has_text="Test accuracy")


def metric_value(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def problem_shown(page):
    """An error, or a warning other than the estimate's long-run notice (not a failure)."""
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_not_text=LONG_RUN_NOTICE)
    return warning.or_(page.get_by_test_id("stAlertContentError"))


async def press_train(page, result: SessionResult) -> None:
    """Press Train and wait until the page shows the job queued, running or done."""
    from playwright.async_api import expect

    result.pressed_at = time.monotonic()
    await page.get_by_role("button", name="Train", exact=True).click()
    training = page.get_by_text(TRAINING_SHOWN)
    await expect(training.or_(results_shown(page)).or_(problem_shown(page)).first).to_be_visible()


async def wait_for_results(page, result: SessionResult, timeout_ms: float) -> None:
    from playwright.async_api import expect

    problem = problem_shown(page)
    await expect(results_shown(page).or_(problem).first).to_be_visible(timeout=timeout_ms)
    result.results_at = time.monotonic()
    if await problem.count():
        # On one line: the alert's icon comes first as a line of its own ("warning").
        text = " ".join((await problem.first.inner_text()).split())
        raise RuntimeError(f"training failed: {text}")


async def check_own_results(page, config: TrainConfig, result: SessionResult) -> None:
    """Everything shown with the results must describe this session's network, run 1."""
    main = page.get_by_test_id("stMain")
    total = sum(parameter_counts(config))
    checks = {
        "run number": main.get_by_role("heading", name="Run 1", exact=True),
        "parameter total": main.get_by_text(f"Total parameters: {total:,} (weights and biases"),
        "sidebar model": page.get_by_test_id("stSidebar").get_by_text(describe(config)),
    }
    for name, locator in checks.items():
        if await locator.count() != 1:
            result.leaks.append(name)
    if await main.get_by_role("heading", name="Run 2").count():
        result.leaks.append("a second run")


async def draw_a_one(page, config: TrainConfig, result: SessionResult) -> None:
    from playwright.async_api import expect

    await page.locator(".st-key-page_menu").get_by_role("link", name="Draw").click()
    own_model = f"your model from run 1 ({describe(config)}, 100 epochs"
    answering = page.get_by_text(own_model)
    try:
        await expect(answering).to_be_visible(timeout=CHECK_TIMEOUT_MS)
    except AssertionError:
        # A starved browser may take longer than the check's timeout to draw the page: only
        # another model named there is a leak.
        shown = page.get_by_text("Answering now:")
        await expect(shown).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        if own_model not in await shown.inner_text():
            result.leaks.append(f"Draw page model ({await shown.inner_text()})")
    canvas = page.locator(CANVAS)
    await canvas.scroll_into_view_if_needed()
    await expect(canvas).to_be_visible()
    box = await canvas.bounding_box()
    x, top, bottom = box["x"] + box["width"] / 2, box["y"] + 35, box["y"] + box["height"] - 35
    await page.mouse.move(x, top)
    await page.mouse.down()
    for step in range(1, 13):
        await page.mouse.move(x, top + (bottom - top) * step / 12, steps=3)
    await page.mouse.up()
    value = (
        page.get_by_test_id("stMetric")
        .filter(has_text="Prediction")
        .get_by_test_id("stMetricValue")
    )
    await expect(value).not_to_have_text(NO_ANSWER)
    result.prediction = await value.inner_text()


async def single_run(browser, base: str, job_timeout_ms: float) -> float:
    """Warm the pool with a one-epoch run, then time default runs alone (100 epochs, batch 32)
    and return the median."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        warm_config = TrainConfig(hidden_units=(5,), epochs=1)
        page = await open_train_page(context, f"{base}/train?units=5&epochs=1", warm_config)
        warm = SessionResult(-1, (5,))
        await press_train(page, warm)
        await wait_for_results(page, warm, job_timeout_ms)
        await page.close()
        seconds = []
        for units in SINGLE_RUN_UNITS:
            config = TrainConfig(hidden_units=units, seed=1)
            page = await open_train_page(context, train_url(base, units, 1), config)
            timed = SessionResult(0, units)
            await press_train(page, timed)
            await wait_for_results(page, timed, job_timeout_ms)
            seconds.append(timed.seconds)
            await page.close()
        return statistics.median(seconds)
    finally:
        await context.close()


async def one_learner(
    browser,
    base: str,
    index: int,
    loading: asyncio.Semaphore,
    loaded: Countdown,
    pressed: Countdown,
    timeout_ms: float,
) -> SessionResult:
    units = (FIRST_CLASS_UNITS + index, SECOND_LAYER_UNITS)
    config = TrainConfig(hidden_units=units, seed=FIRST_SEED + index)
    result = SessionResult(index, units)
    gates = [loaded, pressed]
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    step = "opening the Train page"
    try:
        async with loading:
            page = await open_train_page(context, train_url(base, units, config.seed), config)
        gates.pop(0).arrive()
        await loaded.done.wait()
        step = "pressing Train"
        await press_train(page, result)
        gates.pop(0).arrive()
        step = "training"
        await wait_for_results(page, result, timeout_ms)
        step = "checking the results"
        await check_own_results(page, config, result)
        step = "drawing"
        await draw_a_one(page, config, result)
    except Exception as error:
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        result.error = f"{step}: {type(error).__name__}: {first_line}"
    finally:
        for gate in gates:
            gate.arrive()
        await context.close()
    return result


async def start_hog(browser, base: str, index: int):
    """A session that starts the most work one run may ask for and keeps its tab open."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    units = (*HOG_UNITS[:-1], HOG_UNITS[-1] + index)
    config = TrainConfig(hidden_units=units, epochs=HOG_EPOCHS, batch_size=HOG_BATCH)
    url = f"{train_url(base, units, 1)}&epochs={HOG_EPOCHS}&batch={HOG_BATCH}"
    page = await open_train_page(context, url, config)
    await press_train(page, SessionResult(-2 - index, units))
    return context


async def late_arrivals(browser, base: str, timeout_ms: float) -> None:
    """Default runs pressed one at a time while the hogs train (their waits are in the job log)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        for index, units in enumerate(LATE_ARRIVAL_UNITS):
            await asyncio.sleep(LATE_ARRIVAL_GAP_SECONDS)
            config = TrainConfig(hidden_units=units, seed=1)
            page = await open_train_page(context, train_url(base, units, 1), config)
            late = SessionResult(100 + index, units)
            await press_train(page, late)
            await wait_for_results(page, late, timeout_ms)
            await page.close()
    finally:
        await context.close()
