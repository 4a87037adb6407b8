"""The router: the app starts on Home, every page it lists renders, and the server's lifespan."""

from __future__ import annotations

import asyncio

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.web.server.app_discovery import discover_asgi_app

from model import jobs
from model.config import TrainConfig
from tests.conftest import APP_TIMEOUT, PROJECT_ROOT


def router_pages() -> list[str]:
    import app

    return [script for script, _title, _icon in app.PAGES]


def menu_titles() -> list[str]:
    import app

    return [title for _script, title, _icon in app.PAGES]


def test_app_starts_on_the_home_page() -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "Zero-or-One Lab"
    assert any("10,431 parameters" in block.value for block in at.markdown)


@pytest.mark.parametrize("page", router_pages())
def test_every_page_renders(page: str) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", ["app_pages/home.py", "app_pages/train.py"])
def test_every_link_to_a_page_carries_the_lab_in_its_address(page: str) -> None:
    # The menu's links and the pages' own: a tab whose session expired while away reconnects
    # with the address the link gave it, and must find its lab there.
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=APP_TIMEOUT).run()
    at.switch_page(page).run()
    lab = at.session_state["lab"].id
    links = at.get("page_link")
    titles = menu_titles()
    assert [link.proto.label for link in links if link.proto.label in titles] == titles
    assert {link.proto.query_string for link in links} == {f"lab={lab}"}


def test_streamlit_run_serves_app_py_as_an_app_with_a_lifespan() -> None:
    found = discover_asgi_app(PROJECT_ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_the_lifespan_stops_the_training_workers_when_the_server_stops(monkeypatch) -> None:
    import app

    monkeypatch.setattr(jobs.manager, "_OPEN_MANAGERS", set())
    pool = jobs.JobManager(workers=1, start_delay=3600)

    async def serve_and_stop() -> None:
        async with app.server_lifespan(app.app):
            pass

    asyncio.run(serve_and_stop())
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(jobs.JobRequest(TrainConfig(hidden_units=(4,), epochs=1)), "a")


def test_import_ahead_imports_modules_that_exist() -> None:
    import sys

    import app

    app.import_ahead()
    assert all(name in sys.modules for name in app.IMPORT_AHEAD)


def test_the_server_exits_with_code_0_on_sigterm() -> None:
    import os
    import signal

    from tests.conftest import start_server, stop_server

    process, _url = start_server()
    try:
        # As `docker stop` does: the server process alone, not its process group.
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        stop_server(process)
