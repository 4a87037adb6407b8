"""The Draw page's explanations in Chromium: a mouse-drawn digit gets its saliency map, probe chart and hidden-space map."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.test_browser_draw import CANVAS, draw, ellipse, line, prediction

pytestmark = pytest.mark.browser

CHART = "[data-testid=stVegaLiteChart]"


def open_draw_page(page: Page, server_url: str) -> Locator:
    # Straight to /draw, as a learner's bookmark would: the Home page also links to "Draw: …".
    page.goto(f"{server_url}/draw")
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    expect(canvas).to_be_visible()
    return canvas


@pytest.mark.parametrize(
    ("digit", "stroke"), [("1", line((140, 35), (140, 245))), ("0", ellipse(140, 140, 70, 105))]
)
def test_a_drawn_digit_gets_saliency_probes_and_the_hidden_space(
    page: Page, server_url: str, digit: str, stroke
) -> None:
    canvas = open_draw_page(page, server_url)
    # The first view is light: nothing to explain yet.
    expect(page.get_by_role("img", name="Saliency map")).to_have_count(0)
    expect(page.locator(CHART)).to_have_count(0)

    draw(page, canvas, stroke)
    expect(prediction(page)).to_have_text(digit)
    saliency = page.get_by_role("img", name="Saliency map")
    expect(saliency).to_be_visible()
    box = saliency.bounding_box()
    assert box is not None and box["width"] > 100
    expect(page.get_by_text("orange pixels push it towards 1")).to_be_visible()

    probes = page.get_by_label("P(1) across each probe's range", exact=True)
    probes.scroll_into_view_if_needed()
    expect(probes).to_be_visible()
    expect(page.get_by_text("Rotate anticlockwise (°)").first).to_be_visible()

    hidden = page.get_by_label("The hidden space of the test images", exact=True)
    hidden.scroll_into_view_if_needed()
    expect(hidden).to_be_visible()
    expect(page.get_by_text("The star is your drawing.", exact=False)).to_be_visible()


def test_a_probe_slider_moves_the_drawing_and_flips_the_answer(page: Page, server_url: str) -> None:
    canvas = open_draw_page(page, server_url)
    draw(page, canvas, line((140, 35), (140, 245)))
    expect(prediction(page)).to_have_text("1")
    changed = page.get_by_text("Changed: P(1) =")
    changed.scroll_into_view_if_needed()
    expect(changed).to_contain_text("→ 1")
    thumb = page.get_by_test_id("stSlider").filter(has_text="Shift right").get_by_role("slider")
    thumb.focus()
    # Pushed 8 px to the left, the 1 stands at the frame's edge, where no training 1 stood.
    page.keyboard.press("Home")
    expect(thumb).to_have_attribute("aria-valuetext", "-8.00")
    expect(changed).to_contain_text("→ 0")
    # The canvas's own answer is untouched: the probes change a copy.
    expect(prediction(page)).to_have_text("1")
