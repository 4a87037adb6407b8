"""A learner of the classroom benchmark as a headless session: the page's protocol, no rendering."""

from __future__ import annotations

import time

from bench.class_sessions import (
    LONG_RUN_NOTICE,
    TRAINING_SHOWN,
    SessionResult,
    own_model_on_draw,
    own_results_checks,
)
from bench.headless import HeadlessSession, Shown, canvas_png_of_a_one
from model.config import TrainConfig
from model.preprocess import CANVAS_SIDE

NO_ANSWER = "–"
# A check of what a page shows once its run has ended: seconds.
CHECK_TIMEOUT = 60.0
PEN_WIDTH = 20


def is_metric(label: str):
    return lambda shown: shown.kind == "metric" and shown.label == label


class HeadlessTab:
    """The Train page in a session of its own, as a learner's browser would open it."""

    def __init__(self, session: HeadlessSession) -> None:
        self.session = session

    def _problems(self) -> list[str]:
        return [text for text in self.session.problems() if not LONG_RUN_NOTICE.search(text)]

    def _results_shown(self) -> bool:
        return self.session.find(is_metric("Test accuracy")) is not None

    async def press_train(self, result: SessionResult) -> None:
        """Press Train and wait until the page shows the job queued, running or done."""
        session = self.session
        result.pressed_at = time.monotonic()
        await session.click("Train")

        def training_shown() -> bool:
            shown = any(TRAINING_SHOWN.search(text) for text in session.texts())
            return shown or self._results_shown() or bool(self._problems())

        await session.wait_until(training_shown)

    async def wait_for_results(self, result: SessionResult, timeout: float) -> None:
        await self.session.wait_until(
            lambda: self._results_shown() or bool(self._problems()), timeout
        )
        result.results_at = time.monotonic()
        problems = self._problems()
        if problems:
            raise RuntimeError(f"training failed: {' '.join(problems[0].split())}")

    async def check_own_results(self, config: TrainConfig, result: SessionResult) -> None:
        """Everything shown with the results must describe this session's network, run 1."""
        session = self.session
        await session.wait_until(lambda: session.idle, CHECK_TIMEOUT)
        checks = own_results_checks(config)
        main = [shown for shown in session.elements() if not shown.in_sidebar]
        sidebar = [shown for shown in session.elements() if shown.in_sidebar]

        def count(elements: list[Shown], match) -> int:
            return sum(1 for shown in elements if match(shown))

        counts = {
            "run number": count(main, lambda s: s.kind == "heading" and s.text == checks.heading),
            "parameter total": count(main, lambda s: s.text.startswith(checks.parameter_total)),
            "sidebar model": count(sidebar, lambda s: checks.model in s.text),
        }
        result.leaks.extend(name for name, found in counts.items() if found != 1)
        if count(main, lambda s: s.kind == "heading" and s.text == checks.second_run):
            result.leaks.append("a second run")

    async def draw_a_one(self, config: TrainConfig, result: SessionResult) -> None:
        session = self.session
        await session.go_to("draw")
        answering = session.find(lambda shown: shown.text.startswith("Answering now:"))
        if answering is None:
            result.leaks.append("Draw page model (none named)")
        elif own_model_on_draw(config) not in answering.text:
            result.leaks.append(f"Draw page model ({answering.text})")
        png = canvas_png_of_a_one(CANVAS_SIDE, CANVAS_SIDE, PEN_WIDTH)
        await session.draw_png(png, CANVAS_SIDE, CANVAS_SIDE)

        def answered() -> bool:
            value = session.find(is_metric("Prediction"))
            return value is not None and value.text not in ("", NO_ANSWER)

        await session.wait_until(answered, CHECK_TIMEOUT)
        result.prediction = session.find(is_metric("Prediction")).text

    def page_runs(self) -> tuple[int, int]:
        return self.session.full_runs, self.session.fragment_runs

    async def close(self) -> None:
        await self.session.close()


class HeadlessTabs:
    """Opens each learner's Train page in a new headless session on the server."""

    def __init__(self, base: str) -> None:
        self.base = base

    async def open_train(self, query: str, config: TrainConfig) -> HeadlessTab:
        session = HeadlessSession(self.base)
        try:
            await session.open("train", query)
            network = own_results_checks(config).network
            await session.wait_until(
                lambda: any(
                    network in text.replace("*", "").replace("`", "") for text in session.texts()
                ),
                CHECK_TIMEOUT,
            )
        except BaseException:
            await session.close()
            raise
        return HeadlessTab(session)
