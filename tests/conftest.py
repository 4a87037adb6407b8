"""Shared fixtures: the project root on the path, a running Streamlit server and a Chromium browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# Every process that renders a page starts the training pool; one worker keeps the suite light.
os.environ.setdefault("ZOL_WORKERS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's own lab database goes to a scratch folder, never to the repository's data/.
os.environ.setdefault("ZOL_DATA_DIR", tempfile.mkdtemp(prefix="zol-test-data-"))
# The PostgreSQL server the store's tests also run against (`.ci/run` starts one).
TEST_POSTGRES_ENV = "ZOL_TEST_POSTGRES_URL"
# The tests train 1000-epoch runs to stop them; on a loaded machine the server's measured speed
# would put those over the default cap. The cap's own tests set their limits explicitly.
os.environ.setdefault("ZOL_MAX_RUN_SECONDS", "86400")
# Every browser test's tabs share one address.
os.environ.setdefault("ZOL_MAX_RUNS_PER_CLIENT", "100")

# AppTest runs the real pages in-process; the first import of a page's dependencies is slow.
APP_TIMEOUT = 120
SERVER_START_TIMEOUT = 120
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """CHROMIUM_PATH if set, else Debian's chromium if present, else Playwright's own browser."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(
    url: str, process: subprocess.Popen, timeout: float, poll: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(poll)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health in {timeout} s")


def start_server(
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
    script: str = "app.py",
    poll: float = 0.25,
):
    """`streamlit run SCRIPT` on 127.0.0.1, once it answers its health check (every `poll` s)."""
    port = port or free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *(extra_args or []),
    ]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, SERVER_START_TIMEOUT, poll)
    except Exception:
        stop_server(process)
        raise
    return process, url


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    process, url = start_server()
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def postgres_url() -> str:
    """The test PostgreSQL server's URL; in CI its absence fails the test instead of skipping."""
    url = os.environ.get(TEST_POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{TEST_POSTGRES_ENV} is not set: CI must run the store's tests on PostgreSQL")
    pytest.skip(f"{TEST_POSTGRES_ENV} is not set (no PostgreSQL server for the store's tests)")


def fresh_postgres_engine():
    from sqlalchemy import MetaData

    from store.database import make_engine

    engine = make_engine(postgres_url())
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)
    engine.dispose()
    return make_engine(postgres_url())


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request, tmp_path):
    """An empty, migrated lab database: a SQLite file, and a real PostgreSQL server."""
    from store.database import make_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'lab.sqlite3'}")
    else:
        engine = fresh_postgres_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def space(store_engine):
    """A new class in the store and its teacher key."""
    from store import classes

    return classes.create_class(store_engine)


@pytest.fixture(scope="module")
def manager():
    """A job pool of one worker, ready to train, for one test module."""
    from model.jobs import JobManager

    pool = JobManager(workers=1, jobs_per_worker=100)
    assert pool.wait_until_ready(120)
    yield pool
    pool.shutdown()
