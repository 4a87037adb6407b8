"""The layering rules: model/ never imports Streamlit; app.py keeps its body under a main guard."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_package_never_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "model").rglob("*.py"))
        if {"streamlit", "streamlit_drawable_canvas", "ui", "app_pages"} & imported_modules(path)
    ]
    assert offenders == []


def test_app_body_runs_only_as_main() -> None:
    tree = ast.parse((PROJECT_ROOT / "app.py").read_text())
    top_level_calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    guards = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    ]
    assert top_level_calls == []
    assert len(guards) == 1 and "run()" in ast.unparse(guards[0])


def test_no_removed_or_server_unsafe_streamlit_apis() -> None:
    forbidden = ("add_rows(", "st.experimental_", "clear_session(")
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}: {word}"
        for folder in ("model", "app_pages", "ui")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for word in forbidden
        if word in path.read_text()
    ]
    offenders += [
        f"app.py: {word}" for word in forbidden if word in (PROJECT_ROOT / "app.py").read_text()
    ]
    assert offenders == []
