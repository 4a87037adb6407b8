"""Stopping a server while a run trains: seconds from SIGTERM to exit, and the exit code.

Run: `python bench/shutdown.py`. Starts the real server (`streamlit run app.py`, one worker),
opens `/train?epochs=1000&batch=1` in Chromium, presses Train, waits until epochs are shown,
then sends SIGTERM to the server alone (as `docker stop` does to the container's first
process) and times its exit. Targets: `shutdown_s` ≤ 5 and `exit_code: 0` (before this work
the server blocked for 10 s on a worker stuck sending its result, and Docker killed it: 137).
A second measurement does the same through `JobManager.shutdown()` directly, with a hog
(1000 epochs of 128-128-128 at batch 1 on augmented images) training, and prints its
workers' exit codes (0: they ended on their own, not killed).
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import TrainConfig
from model.jobs import JobManager, JobRequest
from model.limits import Limits
from tests.conftest import CHROMIUM_ARGS, chromium_path, start_server, stop_server

HOG = TrainConfig(hidden_units=(128, 128, 128), epochs=1000, batch_size=1, augment=True)
TIMEOUT_MS = 180_000
EXIT_TIMEOUT = 30.0


def server_shutdown() -> tuple[float, int | None]:
    from playwright.sync_api import expect, sync_playwright

    process, url = start_server(env={"ZOL_WORKERS": "1"})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.goto(f"{url}/train?epochs=1000&batch=1")
            page.get_by_role("button", name="Train", exact=True).click()
            progress = page.get_by_text(re.compile(r"Epoch ([2-9]|\d{2,}) of 1000"))
            expect(progress).to_be_visible(timeout=TIMEOUT_MS)
            started = time.monotonic()
            os.kill(process.pid, signal.SIGTERM)
            code = process.wait(timeout=EXIT_TIMEOUT)
            seconds = time.monotonic() - started
            browser.close()
        return seconds, code
    finally:
        stop_server(process)


def manager_shutdown() -> tuple[float, list[int | None]]:
    # The hog is over the default cap: this measurement lifts it.
    manager = JobManager(workers=1, limits=Limits(max_run_seconds=math.inf))
    job_id = manager.submit(JobRequest(HOG), "bench")
    manager.wait(job_id, lambda view: view.epochs_done >= 1, TIMEOUT_MS / 1000)
    started = time.monotonic()
    codes = manager.shutdown()
    return time.monotonic() - started, codes


def main() -> None:
    manager_seconds, codes = manager_shutdown()
    print(
        f"JobManager.shutdown with a hog training: {manager_seconds:.2f} s, worker exit codes {codes}"
    )
    seconds, code = server_shutdown()
    print(f"shutdown_s: {seconds:.2f}")
    print(f"exit_code: {code}")


if __name__ == "__main__":
    main()
