"""What is wrong with the settings, said as `file:line: key: message` (an editor jumps to the line).

A SettingsError carries one Problem per mistake. Code deep inside raises it with a key and a
message (`SettingsError("relay.password_env: ...")`); the command line, which knows the file,
finds the key's line with `located()`. Problems that are about another file (a template, a
plan) carry that file themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

# `customers[0].plan`, `escalation.acount-manager`, `imap[1]`: a settings key at the start of a message.
_KEY = re.compile(r"(?P<key>[A-Za-z_][\w-]*(?:\[\d+\])*(?:\.[\w-]+(?:\[\d+\])*)*): (?P<message>.*)", re.DOTALL)
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_ASSIGNMENT = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


@dataclass(frozen=True)
class Problem:
    key: str  # "" when the problem is about the file as a whole
    message: str
    file: Path | None = None
    line: int | None = None
    warning: bool = False

    @classmethod
    def parse(cls, text: str, *, warning: bool = False) -> Problem:
        """`"customers[0].plan: unknown plan"` → key and message; text without a key is all message."""
        match = _KEY.fullmatch(text)
        if match is None:
            return cls("", text, warning=warning)
        return cls(match["key"], match["message"], warning=warning)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else str(self.file or "")
        parts = [where, self.key, "warning" if self.warning else "", self.message]
        return ": ".join(part for part in parts if part)


class SettingsError(Exception):
    """The settings file is missing, unreadable or invalid; each problem names the key (and, located, the line)."""

    def __init__(self, *problems: Problem | str) -> None:
        self.problems = tuple(p if isinstance(p, Problem) else Problem.parse(p) for p in problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def located(self, path: Path) -> SettingsError:
        """The same problems, each placed at its key's line in `path` unless it names a file of its own."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        return SettingsError(*(located(problem, path, text) for problem in self.problems))


def located(problem: Problem, path: Path, text: str) -> Problem:
    if problem.file is not None:
        return problem
    return replace(problem, file=path, line=problem.line or line_of(text, problem.key))


def key_parts(key: str) -> tuple[str | int, ...]:
    """`customers[0].plan` → ("customers", 0, "plan")."""
    return tuple(int(index) if index else name for name, index in _PART.findall(key))


def line_of(text: str, key: str) -> int | None:
    """The line of a TOML file where `key` is set, else where its nearest enclosing table begins.

    A line scanner, not a parser (tomllib keeps no positions): `[table]` and `[[array]]`
    headers (counted per array) and `key = value` lines, dotted keys included. Lines inside
    multi-line strings and arrays are not keys and do not match.
    """
    wanted = key_parts(key)
    if not wanted:
        return None
    best, best_length = None, 0
    table: tuple[str | int, ...] = ()
    counts: dict[tuple[str | int, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = _dotted(header[2])
            if header[1] == "[[":
                counts[table] = counts.get(table, -1) + 1
                table = (*table, counts[table])
            path = table
        else:
            assignment = _ASSIGNMENT.match(line)
            if assignment is None:
                continue
            path = (*table, *_dotted(assignment[1]))
        length = _common_length(path, wanted)
        if length == len(path) and length > best_length:
            best, best_length = number, length
            if length == len(wanted):
                return number
    return best


def _dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text))


def _common_length(path: tuple[str | int, ...], wanted: tuple[str | int, ...]) -> int:
    length = 0
    for have, want in zip(path, wanted):
        if have != want:
            break
        length += 1
    return length
