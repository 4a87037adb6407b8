"""The layering rules: model/ and store/ never import Streamlit; no import cycles; app.py's body under a main guard."""

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


def test_model_and_store_packages_never_import_streamlit() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for package in ("model", "store")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if {"streamlit", "streamlit_drawable_canvas", "ui", "app_pages"} & imported_modules(path)
    ]
    assert offenders == []


def test_model_never_imports_the_store() -> None:
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "model").rglob("*.py"))
        if "store" in imported_modules(path)
    ]
    assert offenders == []


def module_imports(path: Path) -> set[str]:
    """The project modules a module imports, at any depth of its code (lazy imports too)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_ui_and_store_have_no_import_cycles() -> None:
    modules = {
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts): path
        for package in ("ui", "store")
        for path in sorted((PROJECT_ROOT / package).glob("*.py"))
        if path.stem != "__init__"
    }
    graph = {name: module_imports(path) & set(modules) for name, path in modules.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for after in graph[start]:
            if after == goal or (after not in seen and reaches(after, goal, seen | {after})):
                return True
        return False

    assert [name for name in graph if reaches(name, name, set())] == []


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
