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
    names = "|".join(BACKEND_NAMES)
    compared = re.compile(rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)""")
    offending = [
        f"{p.relative_to(APP)}:{n}"
        for p in APP.rglob("*.py")
        if p.relative_to(APP).parts[0] != "container"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if compared.search(line)
    ]
    assert offending == []


PORTS = APP / "domain" / "ports"
PLUGIN_ADAPTER = APP / "adapters" / "plugins.py"


def port_surface() -> tuple[set[str], set[str]]:
    """The Protocols the ports declare, and every method and attribute name they declare."""
    protocols: set[str] = set()
    members: set[str] = set()
    for path in PORTS.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(ast.unparse(base).endswith("Protocol") for base in node.bases):
                protocols.add(node.name)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        members.add(item.name)
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members.add(item.target.id)
    return protocols, members


def probes(source: str, protocols: set[str], members: set[str]) -> list[int]:
    """Lines that ask an object whether it implements a port or a capability: `isinstance` against a
    port's Protocol, `getattr`/`hasattr` of a name a port declares."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 2):
            continue
        kind, target = node.func.id, node.args[1]
        if kind == "isinstance" and any(isinstance(n, ast.Name) and n.id in protocols for n in ast.walk(target)):
            found.append(node.lineno)
        elif kind in ("getattr", "hasattr") and isinstance(target, ast.Constant) and target.value in members:
            found.append(node.lineno)
    return found


def test_only_the_plugin_adapter_probes_what_a_backend_can_do():
    """Every port answers its capabilities itself; a third-party backend that may not is wrapped once
    in app/adapters/plugins.py. (Litestar's own `isinstance` checks of typed dependencies are its own.)"""
    protocols, members = port_surface()
    offending = [
        f"{path.relative_to(APP)}:{line}"
        for path in APP.rglob("*.py")
        if path != PLUGIN_ADAPTER
        for line in probes(path.read_text(), protocols, members)
    ]
    assert offending == []


def test_a_capability_probe_would_be_found():
    protocols, members = port_surface()
    assert {"Transcriber", "ChecksOptions", "Formatter"} <= protocols
    assert {"times_words_like", "check", "can_align"} <= members
    source = (
        "def run(diarizer, transcriber, value):\n"
        "    if isinstance(diarizer, ChecksOptions):\n"
        "        diarizer.check(value)\n"
        "    own = getattr(transcriber, 'times_words_like', None)\n"
        "    fine = getattr(value, '_rolled', False)\n"
    )
    assert probes(source, protocols, members) == [2, 4]


MAX_MODULE_LINES = 400  # a module a reader holds in their head
MAX_COMPOSITION_ROOT_LINES = 300  # wiring only: decisions live with the adapters and settings they concern


def test_modules_stay_small_and_the_composition_root_only_wires():
    lines = {path.relative_to(APP): len(path.read_text().splitlines()) for path in APP.rglob("*.py")}
    assert {str(path): n for path, n in lines.items() if n > MAX_MODULE_LINES} == {}
    root = sum(n for path, n in lines.items() if path.parts[0] == "container")
    assert root <= MAX_COMPOSITION_ROOT_LINES
