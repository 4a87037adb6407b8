"""A learner of the classroom benchmark in a Chromium tab: Playwright drives the real page."""

from __future__ import annotations

import time

from bench.class_sessions import (
    LONG_RUN_NOTICE,
    TRAINING_SHOWN,
    SessionResult,
    own_model_on_draw,
    own_results_checks,
)
from model.config import TrainConfig

CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"
NO_ANSWER = "–"
PAGE_TIMEOUT_MS = 120_000
# Generous: on this machine the browsers wait for CPU; a leak shows as other text, not as none.
CHECK_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1280, "height": 1000}


def results_shown(page):
    return page.get_by_test_id("stMetric").filter(has_text="Test accuracy")


def metric_value(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def problem_shown(page):
    """An error, or a warning other than the estimate's long-run notice (not a failure)."""
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_not_text=LONG_RUN_NOTICE)
    return warning.or_(page.get_by_test_id("stAlertContentError"))


async def wait_for_results(page, result: SessionResult, timeout_ms: float) -> None:
    from playwright.async_api import expect

    problem = problem_shown(page)
    await expect(results_shown(page).or_(problem).first).to_be_visible(timeout=timeout_ms)
    result.results_at = time.monotonic()
    if await problem.count():
        # On one line: the alert's icon comes first as a line of its own ("warning").
        text = " ".join((await problem.first.inner_text()).split())
        raise RuntimeError(f"training failed: {text}")


class BrowserTab:
    """The Train page in a browser context of its own (a learner's own computer)."""

    def __init__(self, context, page) -> None:
        self.context, self.page = context, page

    async def press_train(self, result: SessionResult) -> None:
        """Press Train and wait until the page shows the job queued, running or done."""
        from playwright.async_api import expect

        page = self.page
        result.pressed_at = time.monotonic()
        await page.get_by_role("button", name="Train", exact=True).click()
        training = page.get_by_text(TRAINING_SHOWN)
        shown = training.or_(results_shown(page)).or_(problem_shown(page)).first
        await expect(shown).to_be_visible()

    async def wait_for_results(self, result: SessionResult, timeout: float) -> None:
        await wait_for_results(self.page, result, timeout * 1000)

    async def check_own_results(self, config: TrainConfig, result: SessionResult) -> None:
        """Everything shown with the results must describe this session's network, run 1."""
        main = self.page.get_by_test_id("stMain")
        checks = own_results_checks(config)
        locators = {
            "run number": main.get_by_role("heading", name=checks.heading, exact=True),
            "parameter total": main.get_by_text(checks.parameter_total),
            "sidebar model": self.page.get_by_test_id("stSidebar").get_by_text(checks.model),
        }
        for name, locator in locators.items():
            if await locator.count() != 1:
                result.leaks.append(name)
        if await main.get_by_role("heading", name=checks.second_run).count():
            result.leaks.append("a second run")

    async def draw_a_one(self, config: TrainConfig, result: SessionResult) -> None:
        from playwright.async_api import expect

        page = self.page
        await page.locator(".st-key-page_menu").get_by_role("link", name="Draw").click()
        own_model = own_model_on_draw(config)
        answering = page.get_by_text(own_model)
        try:
            await expect(answering).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        except AssertionError:
            # A starved browser may take longer than the check's timeout to draw the page:
            # only another model named there is a leak.
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
        value = metric_value(page, "Prediction")
        await expect(value).not_to_have_text(NO_ANSWER)
        result.prediction = await value.inner_text()

    def page_runs(self) -> None:
        """Not known: the page's protocol is inside the browser."""
        return None

    async def close(self) -> None:
        await self.context.close()


class BrowserTabs:
    """Opens each learner's Train page in a new context of one Chromium."""

    def __init__(self, browser, base: str) -> None:
        self.browser, self.base = browser, base

    async def open_train(self, query: str, config: TrainConfig) -> BrowserTab:
        from playwright.async_api import expect

        context = await self.browser.new_context(viewport=VIEWPORT)
        page = await context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        await page.goto(f"{self.base}/train?{query}")
        main = page.get_by_test_id("stMain")
        await expect(main.get_by_text(own_results_checks(config).network)).to_be_visible()
        return BrowserTab(context, page)
