"""In Chromium: the lab survives a reload and a server stopped mid-training; codes open labs."""

from __future__ import annotations

import re
import tempfile
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import free_port, start_server, stop_server

pytestmark = pytest.mark.browser

SHORT_RUN = "train?units=6&epochs=3"
# Batches of one: each epoch takes a noticeable time, so the run is still training when stopped.
LONG_RUN = "train?units=32&epochs=1000&batch=1"
TRAIN_TIMEOUT_MS = 120_000
# A page drawn anew (after a reload or a restart) on a busy machine.
PAGE_TIMEOUT_MS = 60_000


def lab_id(page: Page) -> str:
    expect(page).to_have_url(re.compile(r"[?&]lab="), timeout=PAGE_TIMEOUT_MS)
    return parse_qs(urlsplit(page.url).query)["lab"][0]


def results(page: Page):
    return page.get_by_test_id("stMetric").filter(has_text="Test accuracy")


def test_a_trained_run_and_the_sidebar_model_survive_a_reload(page: Page) -> None:
    process, url = start_server(
        env={"ZOL_WORKERS": "1", "ZOL_DATA_DIR": tempfile.mkdtemp(prefix="zol-browser-lab-")}
    )
    try:
        page.goto(f"{url}/{SHORT_RUN}")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(results(page)).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
        first_id = lab_id(page)
        code = page.get_by_test_id("stSidebar").get_by_test_id("stCode").inner_text().strip()

        page.reload()
        expect(page.get_by_role("heading", name="Run 1", exact=True)).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        expect(results(page)).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        expect(page.get_by_test_id("stSidebar").get_by_text("Your model")).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        assert lab_id(page) == first_id

        # Another page keeps the lab in the address bar; the Draw page answers with this model.
        # The link itself holds the lab: a tab whose session expired reconnects at its address.
        draw_link = page.locator(".st-key-page_menu").get_by_role("link", name="Draw")
        assert parse_qs(urlsplit(draw_link.get_attribute("href")).query)["lab"] == [first_id]
        draw_link.click()
        expect(page.get_by_text(re.compile(r"your model from run 1"))).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        assert lab_id(page) == first_id

        # A fresh browser (another device) opens the same lab with the resume code.
        other = page.context.browser.new_context().new_page()
        other.goto(f"{url}/lab")
        other.get_by_role("textbox", name="Resume code").fill("no-such-code-here-10")
        other.get_by_role("button", name="Open this lab").click()
        expect(other.get_by_text("No lab has this code")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        other.get_by_role("textbox", name="Resume code").fill(code)
        other.get_by_role("button", name="Open this lab").click()
        expect(other.get_by_text("Opened the lab with that code.")).to_be_visible(
            timeout=PAGE_TIMEOUT_MS
        )
        assert lab_id(other) == first_id
        other.context.close()
    finally:
        stop_server(process)


def test_a_run_cut_off_by_a_server_stop_comes_back_interrupted_and_continues(page: Page) -> None:
    data_dir = tempfile.mkdtemp(prefix="zol-browser-restart-")
    env = {"ZOL_WORKERS": "1", "ZOL_DATA_DIR": data_dir}
    port = free_port()
    process, url = start_server(env=env, port=port)
    try:
        page.goto(f"{url}/{LONG_RUN}")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Epoch ([3-9]|\d{2,}) of 1000"))).to_be_visible(
            timeout=TRAIN_TIMEOUT_MS
        )
        link = page.url
    finally:
        stop_server(process)
    process, url = start_server(env=env, port=port)
    try:
        page.goto(link)
        notice = page.get_by_text(re.compile(r"Training was cut off at epoch (\d+)"))
        expect(notice).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        epoch = int(re.search(r"epoch (\d+)", notice.inner_text()).group(1))
        assert epoch >= 1
        continue_button = page.get_by_role("button", name="Continue")
        expect(continue_button).to_be_enabled(timeout=PAGE_TIMEOUT_MS)
        continue_button.click()
        expect(page.get_by_text(re.compile(rf"Epoch (\d+) of {epoch + 1000}"))).to_be_visible(
            timeout=TRAIN_TIMEOUT_MS
        )
        page.get_by_role("button", name="Stop").click()
        expect(results(page)).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    finally:
        stop_server(process)
