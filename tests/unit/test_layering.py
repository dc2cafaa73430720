"""Dependencies point one way (architecture.md): checked by walking imports with ast."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB_IO = {"socket", "smtplib", "imaplib", "sqlite3", "asyncio", "subprocess", "os", "io", "pathlib",
             "logging", "time", "threading", "urllib", "http", "ssl", "select", "shutil", "tempfile"}


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from gateway import codes` imports gateway.codes, not all of gateway.
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def test_parsers_and_store_never_import_the_gateway() -> None:
    for package in ("parsers", "store"):
        for path, names in _imports(package).items():
            assert not any(_top(n) == "gateway" for n in names), f"{path} imports gateway"


def test_only_parsers_import_mail_parser() -> None:
    for package in ("gateway", "store"):
        for path, names in _imports(package).items():
            assert "mailparser" not in {_top(n) for n in names}, f"{path} imports mail-parser"


def test_the_core_is_pure_no_store_no_io_no_clock() -> None:
    # parsers.quotes and parsers.subject are pure text functions (no I/O, no mail-parser).
    allowed_project = {"gateway.core", "gateway.codes", "parsers.model", "parsers.quotes", "parsers.subject"}
    for path, names in _imports("gateway/core").items():
        for name in names:
            top = _top(name)
            assert top not in STDLIB_IO, f"{path} imports {name}"
            assert top not in {"store", "sqlalchemy", "aiosmtpd", "imapclient", "jinja2", "tenacity", "mailparser"}, \
                f"{path} imports {name}"
            if top in {"gateway", "parsers"}:
                assert any(name == a or name.startswith(a + ".") for a in allowed_project), f"{path} imports {name}"


def test_nothing_outside_the_clock_module_reads_the_wall_clock() -> None:
    for package in ("gateway", "parsers", "store"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "clock.py":
                continue
            text = path.read_text(encoding="utf-8")
            for needle in ("datetime.now(", "datetime.utcnow(", "time.time("):
                assert needle not in text, f"{path.relative_to(ROOT)} calls {needle}"
