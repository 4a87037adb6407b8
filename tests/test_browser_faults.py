"""In Chromium: a tab closed mid-training frees the worker; a restarted server gets its pages
back; a stopped server takes its training workers with it."""

from __future__ import annotations

import re
import signal

import psutil
import pytest
from playwright.sync_api import Browser, Page, expect

from model.config import TrainConfig, describe
from tests.conftest import free_port, start_server, stop_server

pytestmark = pytest.mark.browser

# Wide layers, batches of one and a thousand epochs: this run would hold the only worker for
# several minutes, far longer than the other tab waits for its own results.
ENDLESS_RUN = "train?units=128,128&epochs=1000&batch=1"
SHORT_RUN = "train?units=4&epochs=3"
SHORT_NETWORK = describe(TrainConfig(hidden_units=(4,), epochs=3))
# Closed tabs are noticed at the job manager's owner check (every few seconds) after the grace.
ORPHAN_GRACE_SECONDS = "1"
FREED_TIMEOUT_MS = 60_000
RECONNECT_TIMEOUT_MS = 120_000


def new_tab(browser: Browser) -> Page:
    tab = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    tab.set_default_timeout(60_000)
    return tab


def open_train(tab: Page, url: str) -> None:
    tab.goto(url)
    expect(tab.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    expect(tab.get_by_role("button", name="Train", exact=True)).to_be_enabled()


def results(tab: Page):
    return tab.get_by_test_id("stMetric").filter(has_text="Test accuracy")


def test_a_tab_closed_mid_training_frees_the_only_worker(browser: Browser) -> None:
    process, url = start_server(
        env={"ZOL_WORKERS": "1", "ZOL_ORPHAN_GRACE_SECONDS": ORPHAN_GRACE_SECONDS}
    )
    leaving, staying = new_tab(browser), new_tab(browser)
    try:
        open_train(leaving, f"{url}/{ENDLESS_RUN}")
        leaving.get_by_role("button", name="Train", exact=True).click()
        expect(leaving.get_by_text(re.compile(r"Epoch \d+ of 1000"))).to_be_visible(timeout=120_000)
        open_train(staying, f"{url}/{SHORT_RUN}")

        leaving.context.close()
        staying.get_by_role("button", name="Train", exact=True).click()
        expect(staying.get_by_text("you are number 1 in the queue")).to_be_visible()
        expect(results(staying)).to_be_visible(timeout=FREED_TIMEOUT_MS)
        expect(staying.get_by_role("heading", name="Run 1", exact=True)).to_be_visible()
    finally:
        staying.context.close()
        stop_server(process)


def test_an_open_page_reconnects_to_a_restarted_server(browser: Browser) -> None:
    port = free_port()
    process, url = start_server(env={"ZOL_WORKERS": "1"}, port=port)
    tab = new_tab(browser)
    try:
        open_train(tab, f"{url}/{SHORT_RUN}")
        stop_server(process)
        connection_lost = tab.get_by_role("dialog", name="Connection error")
        expect(connection_lost).to_be_visible()

        process, _ = start_server(env={"ZOL_WORKERS": "1"}, port=port)
        expect(connection_lost).to_be_hidden(timeout=RECONNECT_TIMEOUT_MS)
        expect(tab.get_by_text(SHORT_NETWORK, exact=True)).to_be_visible()
        tab.get_by_role("button", name="Train", exact=True).click()
        expect(results(tab)).to_be_visible(timeout=RECONNECT_TIMEOUT_MS)
        expect(tab.get_by_role("heading", name="Run 1", exact=True)).to_be_visible()
    finally:
        tab.context.close()
        stop_server(process)


def test_a_stopped_server_stops_its_training_workers(browser: Browser) -> None:
    process, url = start_server(env={"ZOL_WORKERS": "2"})
    tab = new_tab(browser)
    try:
        open_train(tab, f"{url}/{SHORT_RUN}")
        tab.get_by_role("button", name="Train", exact=True).click()
        expect(results(tab)).to_be_visible(timeout=RECONNECT_TIMEOUT_MS)
        workers = psutil.Process(process.pid).children()
        assert len(workers) >= 2
        # The server alone, as a process manager stops it: not the whole process group.
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=20)
        assert alive == []
    finally:
        tab.context.close()
        stop_server(process)
