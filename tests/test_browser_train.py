"""In Chromium: train a few epochs on the Train page, see the live chart and progress, press Stop."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import start_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    process, url = start_server(env={"ZOL_WORKERS": "1"})
    try:
        yield url
    finally:
        stop_server(process)


def test_training_shows_live_curves_and_stops_on_request(page: Page, app_url: str) -> None:
    page.goto(app_url)
    page.locator(".st-key-page_menu").get_by_role("link", name="Train").click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    main = page.get_by_test_id("stMain")
    # Exact: the "Show the code" block quotes the same line inside a longer docstring.
    network_line = main.get_by_text("400 → 25 → 15 → 1 · sigmoid · 10,431 parameters", exact=True)
    expect(network_line).to_be_visible()

    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("1000")
    epochs.press("Enter")
    batch = page.get_by_role("spinbutton", name="Batch size")
    batch.fill("1")
    batch.press("Enter")
    page.get_by_role("button", name="Train", exact=True).click()

    progress = page.get_by_text(re.compile(r"Epoch \d+ of 1000"))
    expect(progress).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid=stVegaLiteChart]").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"Epoch ([2-9]|\d{2,}) of 1000"))).to_be_visible()

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped: the weights trained so far are kept.")).to_be_visible()
    expect(page.get_by_text("Test accuracy", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Download this model (.keras)")).to_be_visible()
    expect(page.get_by_role("button", name="Continue")).to_be_enabled()
