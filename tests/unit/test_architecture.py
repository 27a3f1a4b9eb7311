"""The layering the README's picture promises, checked on the source (every import, also the ones
inside functions): request -> controller -> service -> pipeline -> ports <- adapters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
# Backend names only the container may interpret (BACKENDS__*, JOBS__BACKEND, WHISPER__VAD_METHOD).
# ("auto" is left out: it is also a device setting, which the device adapter resolves.)
BACKEND_NAMES = ("whisperx", "cross_attention", "speaker_clustering", "local", "celery", "silero", "pyannote")


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in APP.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The app modules `path` imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("app"):
                # `from app.x import y`: y may be a module or a name in app.x.
                found.add(
                    name if name in known else name.rsplit(".", 1)[0] if name.rsplit(".", 1)[0] in known else name
                )
    return {name for name in found if name in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_no_import_circles(graph):
    assert find_cycles(graph) == []


def test_a_circle_would_be_found(tmp_path, monkeypatch):
    """The circle check itself: two modules importing each other inside functions are reported."""
    package = tmp_path / "app" / "loop"
    package.mkdir(parents=True)
    (package / "a.py").write_text("def f():\n    from app.loop.b import g\n")
    (package / "b.py").write_text("def g():\n    import app.loop.a\n")
    known = {"app.loop.a", "app.loop.b"}
    assert imports_of(package / "a.py", known) == {"app.loop.b"}
    assert imports_of(package / "b.py", known) == {"app.loop.a"}
    graph = {name: imports_of(package / f"{name[-1]}.py", known) for name in known}
    assert find_cycles(graph) == [["app.loop.a", "app.loop.b", "app.loop.a"]]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("app.api", ("app.adapters", "app.container", "app.entrypoints")),
        ("app.adapters", ("app.api", "app.container", "app.entrypoints", "app.services")),
        (
            "app.domain",
            (
                "app.api",
                "app.adapters",
                "app.container",
                "app.entrypoints",
                "app.services",
                "app.config",
                "app.schemas",
            ),
        ),
        ("app.services", ("app.api", "app.adapters", "app.container", "app.entrypoints")),
        ("app.schemas", ("app.api", "app.adapters", "app.container", "app.entrypoints", "app.services")),
    ],
)
def test_each_layer_imports_only_what_is_below_it(graph, layer, forbidden):
    offending = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if target.startswith(forbidden)
    )
    assert offending == []


def test_the_domain_imports_no_framework():
    frameworks = re.compile(
        r"^\s*(from|import)\s+(litestar|uvicorn|anyio|dependency_injector|celery|redis|httpx|"
        r"torch|whisperx|faster_whisper|pyannote|av|msgspec|structlog)\b",
        re.MULTILINE,
    )
    offending = [str(p.relative_to(APP)) for p in (APP / "domain").rglob("*.py") if frameworks.search(p.read_text())]
    assert offending == []


def test_only_the_container_interprets_backend_names():
    compared = re.compile(
        r"""(==|!=|\bin\b)\s*\(?\s*["'](%s)["']|["'](%s)["']\s*(==|!=)"""
        % ("|".join(BACKEND_NAMES), "|".join(BACKEND_NAMES))
    )
    offending = [
        f"{p.relative_to(APP)}:{n}"
        for p in APP.rglob("*.py")
        if p.name != "container.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if compared.search(line)
    ]
    assert offending == []
