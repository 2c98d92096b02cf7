"""The code's shape, as README's "How the code is laid out" describes it: stages that only look down, no import
circles, and a core that knows nothing of Streamlit, FastAPI or the terminal. Read from the source with `ast`,
imports inside functions included (a local import is still a dependency); imports only for type checking
are not."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "workbench"
SHARED = {"problems", "files", "names", "folder", "workspace", "drafts"}
MAY_USE = {  # each stage, and the stages and shared modules below it that it may import
    "expr": {"problems"},
    "content": {"expr", *SHARED},
    "run": {"content", "expr", *SHARED},
    "analysis": {"run", "content", "expr", *SHARED},
    "drawing": {"run", "content", "expr", *SHARED},
    "publish": {"analysis", "run", "content", "expr", *SHARED},
    "people": {"publish", "run", "content", "expr", *SHARED},
}
SKINS = {"cli", "api", "ui"}
FRAMEWORKS = ("streamlit", "fastapi", "starlette", "uvicorn", "argparse")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module this file imports (absolute names), outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            absolute = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{absolute}.{alias.name}"
                is_module = (ROOT / (candidate.replace(".", "/") + ".py")).exists() or \
                    (ROOT / candidate.replace(".", "/")).is_dir()
                found.add(candidate if is_module else absolute)
    return found


SOURCES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


@functools.cache
def graph() -> dict[str, set[str]]:
    """Each module's workbench imports: read when a test asks (not at collection, in every worker)."""
    return {name: {m for m in imports(path) if m.startswith("workbench")} - {name} for name, path in SOURCES.items()}


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_itself_round_in_a_circle() -> None:
    import graphlib

    try:
        list(graphlib.TopologicalSorter({m: {d for d in deps if d in graph()} for m, deps in graph().items()})
             .static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")


@pytest.mark.parametrize("name", sorted(n for n in SOURCES if stage(n) in MAY_USE))
def test_each_stage_imports_only_the_stages_below_it(name: str) -> None:
    allowed = MAY_USE[stage(name)] | {stage(name)}
    above = sorted(d for d in graph()[name] if stage(d) and stage(d) not in allowed)
    assert not above, f"{name} imports {above}: {stage(name)} may use only {sorted(allowed)}"


@pytest.mark.parametrize("name", sorted(n for n in SOURCES if stage(n) not in SKINS))
def test_the_core_knows_nothing_of_the_web_or_the_terminal(name: str) -> None:
    used = sorted(m for m in imports(SOURCES[name]) if m.split(".")[0] in FRAMEWORKS or stage(m) in SKINS)
    assert not used, f"{name} imports {used}: only cli/, api/ and ui/ may"


def test_the_condition_language_stands_alone() -> None:
    outside = sorted(d for n in SOURCES if stage(n) == "expr" for d in graph()[n]
                     if stage(d) not in ("expr", "problems"))
    assert not outside, f"the condition language imports {outside}"
