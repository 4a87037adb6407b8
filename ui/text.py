"""Text a learner typed, made safe to show inside Streamlit's Markdown."""

from __future__ import annotations

import re

# Markdown's punctuation, and ':' (Streamlit's `:icon:` and `:color[...]` shortcodes).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(text: str) -> str:
    """`text` shown literally in Markdown: every special character escaped, no HTML."""
    return _SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))
