"""The page menu and the links between pages, each carrying the learner's lab in its address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import streamlit as st

from ui.lab import url_params_with_lab

# The menu's container key: the browser tests and benchmarks find the menu by its class.
MENU_KEY = "page_menu"

PageTarget = str | Path | st.Page


def page_link(
    page: PageTarget,
    *,
    label: str,
    icon: str,
    query_params: Mapping[str, str] | None = None,
) -> None:
    """A link to another page whose address already holds the lab.

    Streamlit's own page menu drops the query string. A tab that is away so long that its
    session expires then reconnects as a new session at the bare address, with a fresh, empty
    lab; carried in the link, the lab is in the address from the moment of the click.
    """
    st.page_link(
        page, label=label, icon=icon, query_params=url_params_with_lab(dict(query_params or {}))
    )


def switch_page(page: PageTarget) -> NoReturn:
    st.switch_page(page, query_params=url_params_with_lab({}))


def render_menu(pages: Sequence[st.Page]) -> None:
    """The sidebar's menu of every page (`st.navigation`'s own menu is hidden)."""
    with st.sidebar, st.container(key=MENU_KEY, gap="small"):
        for page in pages:
            page_link(page, label=page.title, icon=page.icon)
