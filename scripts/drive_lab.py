"""Drive a running Zero-or-One Lab in Chromium for scripts/check_docker.sh: train, find, start long.

Usage: `python scripts/drive_lab.py train URL` (trains a short run, prints the page's address
with its lab id), `find URL` (checks that the lab at URL shows Run 1 with results),
`start-long URL` (starts a long run in the lab at URL and returns once it trains),
`interrupted URL` (checks that the lab's run came back as interrupted).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import CHROMIUM_ARGS, chromium_path

TIMEOUT_MS = 180_000
expect.set_options(timeout=TIMEOUT_MS)


def press_train(page) -> None:
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled()
    train.click()


def main(action: str, url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        results = page.get_by_test_id("stMetric").filter(has_text="Test accuracy")
        if action == "train":
            page.goto(f"{url.rstrip('/')}/train?units=4&epochs=3")
            press_train(page)
            expect(results).to_be_visible()
            expect(page).to_have_url(re.compile(r"[?&]lab="))
            print(page.url)
        elif action == "find":
            page.goto(url)
            expect(page.get_by_role("heading", name="Run 1", exact=True)).to_be_visible()
            expect(results).to_be_visible()
        elif action == "start-long":
            parts = urlsplit(url)
            lab = parse_qs(parts.query)["lab"][0]
            page.goto(
                f"{parts.scheme}://{parts.netloc}/train?units=32&epochs=1000&batch=1&lab={lab}"
            )
            press_train(page)
            expect(page.get_by_text(re.compile(r"Epoch ([3-9]|\d{2,}) of 1000"))).to_be_visible()
        elif action == "interrupted":
            page.goto(url)
            expect(
                page.get_by_text(re.compile(r"Training was cut off at epoch \d+"))
            ).to_be_visible()
        else:
            raise SystemExit(f"unknown action {action!r}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
