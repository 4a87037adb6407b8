"""The class mode's drawings: a student's three digits, drawn with the mouse, sent to the class."""

from __future__ import annotations

import re

from bench.class_browser import CANVAS, NO_ANSWER, metric_value
from tests.test_browser_draw import ellipse, line

SENT = re.compile("once your teacher approves")
Point = tuple[float, float]


def strokes(student: int) -> list[tuple[str, list[Point]]]:
    """A student's three digits, each one stroke: two 1s of different slants and a 0, each
    shaped by the student's number (crop and centring would make mere shifts identical)."""
    k = student % 7
    return [
        ("1", line((132 + k, 35), (142 - k, 245))),
        ("0", ellipse(140, 140, 58 + 3 * k, 100 - 2 * k, tilt=0.05 * (k - 3))),
        ("1", line((175 - k, 45), (115 + 2 * k, 240))),
    ]


async def draw(page, points: list[Point]) -> None:
    canvas = page.locator(CANVAS)
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    await page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    await page.mouse.down()
    for x, y in points[1:]:
        await page.mouse.move(x0 + x, y0 + y, steps=3)
    await page.mouse.up()


async def add_drawing(page, digit: str, points: list[Point], first: bool) -> str:
    """Draw one digit, offer it to the class as `digit`; the model's answer."""
    from playwright.async_api import expect

    answer = metric_value(page, "Prediction")
    if not first:
        await page.get_by_role("button", name="Reset canvas & history").click()
        await expect(answer).to_have_text(NO_ANSWER)
        await expect(page.get_by_text(SENT)).to_have_count(0)
    await draw(page, points)
    await expect(answer).not_to_have_text(NO_ANSWER)
    read = await answer.inner_text()
    # The choice outlives a reset, and clicking the chosen option again would clear it.
    option = page.get_by_test_id("stButtonGroup").get_by_role("radio", name=digit, exact=True)
    if await option.get_attribute("aria-checked") != "true":
        await option.click()
        await expect(option).to_have_attribute("aria-checked", "true")
    await page.get_by_role("button", name="Add to the class set").click()
    refused = page.get_by_test_id("stAlertContentError")
    await expect(page.get_by_text(SENT).or_(refused).first).to_be_visible()
    if await refused.count():
        raise RuntimeError(f"refused: {await refused.first.inner_text()}")
    return read
