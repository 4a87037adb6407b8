"""In Chromium: a shared class link opened first on a fresh server sets and hides the controls."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_shared_link_opens_the_train_page_set_up_and_trimmed(page: Page, server_url: str) -> None:
    # The module's server is fresh: this deep link is its very first request, which must still
    # go through the app's router (sidebar titles, wide layout), not a bare page script.
    page.goto(f"{server_url}/train?units=8,4&epochs=7&act=relu&hide=lr,seed,opt")
    main = page.get_by_test_id("stMain")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    navigation = page.locator(".st-key-page_menu")
    expect(navigation.get_by_text("Under the hood", exact=True)).to_be_visible()
    expect(navigation.get_by_text("app", exact=True)).to_have_count(0)
    # Exact: the "Show the code" block quotes the same line inside a longer docstring.
    expect(
        main.get_by_text("400 → 8 → 4 → 1 · relu · 3,249 parameters", exact=True)
    ).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Epochs")).to_have_value("7")
    first_layer = main.get_by_test_id("stSlider").filter(has_text="Units in hidden layer 1")
    expect(first_layer.get_by_test_id("stSliderThumbValue")).to_have_text("8")
    expect(main.get_by_test_id("stSlider").filter(has_text="Learning rate")).to_have_count(0)
    expect(page.get_by_role("spinbutton", name="Random seed")).to_have_count(0)
    expect(main.get_by_test_id("stRadio").filter(has_text="Optimizer")).to_have_count(0)
    expect(main.get_by_text("Batch size", exact=True)).to_be_visible()


def test_a_tampered_link_shows_a_notice_and_the_defaults(page: Page, server_url: str) -> None:
    page.goto(f"{server_url}/train?units=-3&epochs=1e9")
    expect(page.get_by_text("kept the default units=25,15", exact=False)).to_be_visible()
    expect(page.get_by_role("spinbutton", name="Epochs")).to_have_value("100")
