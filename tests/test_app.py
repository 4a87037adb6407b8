"""The router: the app starts on Home, and every page it lists renders without an exception."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP_TIMEOUT, PROJECT_ROOT


def router_pages() -> list[str]:
    import app

    return [script for script, _title, _icon in app.PAGES]


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
