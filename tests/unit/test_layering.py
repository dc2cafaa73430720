"""Dependencies point one way (architecture.md, issue 9): checked by walking imports with ast.

The rooms of gateway/, from the top: ops → daemon → work → outbound | intake → the hall
(gateway/*.py, gateway/plans) → core → parsers, store. A module may import its own room and
any room below it, never one above it or a sibling (outbound and intake do not know each
other). Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "parsers", "store")
STDLIB_IO = {"socket", "smtplib", "imaplib", "sqlite3", "asyncio", "subprocess", "os", "io", "pathlib",
             "logging", "time", "threading", "urllib", "http", "ssl", "select", "shutil", "tempfile",
             "multiprocessing", "signal"}
IO_LIBRARIES = {"store", "sqlalchemy", "aiosmtpd", "imapclient", "jinja2", "tenacity", "mailparser", "psycopg",
                "alembic"}

# Rank of each room: a module may import rooms of a lower rank, and its own room.
RANKS = {"ops": 6, "daemon": 5, "work": 4, "outbound": 3, "intake": 3, "hall": 2, "core": 1,
         "codes": 0.5, "parsers": 0, "store": 0}
# Modules whose room is not their folder: `python -m gateway` is the CLI; the named outcome codes
# are plain constants that the core names its decisions with, so they sit beneath it.
PLACED = {"gateway.__main__": "ops", "gateway.codes": "codes"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
            if "migrations" not in path.parts}


def imported_names(tree: ast.AST) -> set[str]:
    """Every dotted name a module imports (`from a import b` gives a.b: b may be a module)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def resolve(name: str, modules: Iterable[str]) -> str | None:
    """The project module a dotted import name refers to: the longest module prefix."""
    known = set(modules)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph(sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    """module → the project modules it imports (a package's __init__ only when named itself)."""
    if sources is None:
        sources = {name: path.read_text(encoding="utf-8") for name, path in project_modules().items()}
    graph: dict[str, set[str]] = {}
    for name, text in sources.items():
        targets = {resolve(imported, sources) for imported in imported_names(ast.parse(text))}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def room(module: str) -> str:
    if module in PLACED:
        return PLACED[module]
    parts = module.split(".")
    if parts[0] != "gateway":
        return parts[0]
    if len(parts) > 1 and parts[1] in RANKS:
        return parts[1]
    return "hall"  # gateway/*.py and gateway/plans


def forbidden_arrows(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for source, targets in graph.items():
        for target in targets:
            a, b = room(source), room(target)
            if a != b and RANKS[b] >= RANKS[a]:
                found.append(f"{source} ({a}) imports {target} ({b})")
    return sorted(found)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_every_import_between_rooms_points_down_the_stages() -> None:
    assert forbidden_arrows(GRAPH) == []


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert cycles(GRAPH) == []


@pytest.mark.parametrize(("source", "target"), [
    ("gateway.intake.smtp", "gateway.work.processor"),       # intake → work
    ("gateway.outbound.sender", "gateway.work.scheduler"),   # outbound → work
    ("gateway.outbound.letters", "gateway.intake.ingest"),   # siblings
    ("gateway.daemon.serve", "gateway.ops.cli"),             # anything → ops
    ("gateway.core.decide", "gateway.settings"),             # core → the hall
    ("store.outbox", "gateway.codes"),                       # store → gateway
])
def test_a_forbidden_arrow_is_reported(source: str, target: str) -> None:
    graph = {source: {target}, target: set()}
    assert forbidden_arrows(graph) == [f"{source} ({room(source)}) imports {target} ({room(target)})"]


def test_a_loop_between_two_modules_is_reported() -> None:
    sources = {"store.a": "import store.b\n", "store.b": "from store.a import thing\n", "store.c": "import store.a\n"}
    assert cycles(import_graph(sources)) == [["store.a", "store.b"]]


def test_the_core_is_pure_no_store_no_io_no_clock() -> None:
    # parsers.quotes and parsers.subject are pure text functions (no I/O, no mail-parser).
    allowed_project = {"gateway.core", "gateway.codes", "parsers.model", "parsers.quotes", "parsers.subject"}
    for path in (ROOT / "gateway" / "core").rglob("*.py"):
        for name in imported_names(ast.parse(path.read_text(encoding="utf-8"))):
            top = name.split(".")[0]
            assert top not in STDLIB_IO, f"{path} imports {name}"
            assert top not in IO_LIBRARIES, f"{path} imports {name}"
            if top in {"gateway", "parsers"}:
                assert any(name == a or name.startswith(a + ".") for a in allowed_project), f"{path} imports {name}"


def test_parsers_and_store_never_import_the_gateway() -> None:
    for name in GRAPH:
        if room(name) in {"parsers", "store"}:
            assert not any(t.startswith("gateway") for t in GRAPH[name]), f"{name} imports the gateway"


def test_only_parsers_import_mail_parser() -> None:
    for package in ("gateway", "store"):
        for path in (ROOT / package).rglob("*.py"):
            names = imported_names(ast.parse(path.read_text(encoding="utf-8")))
            assert "mailparser" not in {n.split(".")[0] for n in names}, f"{path} imports mail-parser"


def test_no_module_is_longer_than_300_lines() -> None:
    long = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in project_modules().items()}
    assert {name: lines for name, lines in long.items() if lines > 300} == {}


def test_nothing_outside_the_clock_module_reads_the_wall_clock() -> None:
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "clock.py":
                continue
            text = path.read_text(encoding="utf-8")
            for needle in ("datetime.now(", "datetime.utcnow(", "time.time("):
                assert needle not in text, f"{path.relative_to(ROOT)} calls {needle}"
