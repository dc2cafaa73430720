"""Engineer commands: the `#…` lines at the top of an engineer's reply, parsed into values.

One command per line, before any other text; ASCII or full-width (`＃ｓｅｖｅｒｉｔｙ　２`),
English or Japanese names, any case. Parsing never raises: every line that
starts with `#` but is not a well-formed command becomes an error the engineer
is told about. Then nothing happens to the incident and nothing reaches the
customer, but the engineer gets the text back with the error and the commands
that were not applied (issue 11: nothing disappears silently).

Forgiving where the meaning is clear (issue 11): `#severity 1` needs no reason
(the confirmation asks for one); `#reopen [reason]` reopens a resolved incident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.subject import fold_width

SEVERITY = "severity"
INVESTIGATING = "investigating"
WAITING = "waiting"
NOTE = "note"
ASSIGN = "assign"
WORKAROUND = "workaround"
RESOLVE = "resolve"
SPLIT = "split"
ESCALATE = "escalate"
REOPEN = "reopen"
STATUS = "status"  # issue 14: the engineer's text for the next status report

# support-programs.md §6: the four reasons an incident is resolved.
RESOLUTIONS = ("answered", "fixed", "workaround", "awaiting-release")

_ALIASES = {
    SEVERITY: ("severity", "sev", "深刻度", "重要度", "重大度"),
    INVESTIGATING: ("investigating", "調査中"),
    WAITING: ("waiting", "回答待ち", "お客様待ち"),
    NOTE: ("note", "メモ", "内部メモ"),
    ASSIGN: ("assign", "担当", "担当者", "アサイン"),
    WORKAROUND: ("workaround", "回避策"),
    RESOLVE: ("resolve", "resolved", "解決"),
    SPLIT: ("split", "分割"),
    ESCALATE: ("escalate", "エスカレーション", "エスカレート"),
    REOPEN: ("reopen", "再開", "再オープン"),
    STATUS: ("status", "状況", "状況報告", "ステータス"),
}
_NAMES = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_RESOLUTION_ALIASES = {
    "answered": "answered", "回答": "answered", "回答済み": "answered", "回答済": "answered",
    "fixed": "fixed", "修正": "fixed", "修正済み": "fixed", "修正済": "fixed", "解決済み": "fixed",
    "workaround": "workaround", "回避策": "workaround",
    "awaiting-release": "awaiting-release", "awaiting_release": "awaiting-release",
    "リリース待ち": "awaiting-release",
}
_LINE = re.compile(r"^#\s*(\S+)\s*(.*)$")
_SEVERITY_ARGS = re.compile(r"^([0-9])(?:\s*[:：、,.\-–]\s*|\s+|$)(.*)$", re.DOTALL)
_CONFLICTS = ((INVESTIGATING, WAITING), (INVESTIGATING, RESOLVE), (WAITING, RESOLVE), (SPLIT, RESOLVE),
              (REOPEN, RESOLVE), (REOPEN, WAITING), (REOPEN, SPLIT),
              # #status keeps its text for the next report: no command that relays or stores the same text
              (STATUS, NOTE), (STATUS, WAITING), (STATUS, RESOLVE), (STATUS, REOPEN), (STATUS, SPLIT))


@dataclass(frozen=True)
class Command:
    name: str  # one of the names above
    argument: str = ""  # severity level, resolution reason or assignee
    reason: str = ""  # the reason given with #severity, #reopen, #escalate… ("" when none)
    line: str = ""  # the line as written


@dataclass(frozen=True)
class CommandError:
    line: str
    message: str  # English, for the engineer


@dataclass(frozen=True)
class ParsedReply:
    commands: tuple[Command, ...]
    errors: tuple[CommandError, ...]
    text: str  # the reply without its command lines

    def has(self, name: str) -> bool:
        return any(command.name == name for command in self.commands)

    def get(self, name: str) -> Command | None:
        return next((command for command in self.commands if command.name == name), None)


def parse_reply(text: str) -> ParsedReply:
    """Split an engineer's (already quote-stripped) reply into commands, errors and the rest."""
    lines = text.split("\n")
    commands: list[Command] = []
    errors: list[CommandError] = []
    index = 0
    while index < len(lines):
        line = fold_width(lines[index]).strip()
        if not line and not commands and not errors:
            index += 1
            continue
        if not line.startswith("#"):
            break
        result = parse_line(line)
        (errors if isinstance(result, CommandError) else commands).append(result)  # type: ignore[arg-type]
        index += 1
    errors.extend(_conflicts(commands))
    rest = "\n".join(lines[index:]).strip("\n")
    return ParsedReply(tuple(commands), tuple(errors), rest)


def parse_line(line: str) -> Command | CommandError:
    """One `#name arguments` line (already width-folded and stripped)."""
    match = _LINE.match(line)
    if match is None:
        return CommandError(line, "a command needs a name after '#'")
    word, arguments = match.group(1).lower(), match.group(2).strip()
    name = _NAMES.get(word)
    if name is None:
        known = ", ".join(f"#{n}" for n in _ALIASES)
        return CommandError(line, f"unknown command #{word}; known commands: {known}")
    if name == SEVERITY:
        return _severity(line, arguments)
    if name == RESOLVE:
        return _resolve(line, arguments)
    if name == ASSIGN:
        if not arguments:
            return CommandError(line, "#assign needs the name of the engineer, e.g. '#assign yamada'")
        return Command(ASSIGN, arguments[:200], line=line)
    if arguments and name not in (NOTE, ESCALATE, WORKAROUND, INVESTIGATING, WAITING, REOPEN, STATUS):
        return CommandError(line, f"#{name} takes no arguments")
    return Command(name, reason=arguments, line=line)


def _severity(line: str, arguments: str) -> Command | CommandError:
    match = _SEVERITY_ARGS.match(arguments)
    if match is None or match.group(1) not in "1234":
        return CommandError(line, "#severity needs a level from 1 to 4 (a reason may follow), "
                                  "e.g. '#severity 2 no workaround'")
    # The reason is optional: at 02:00 during an outage `#severity 1` is all an engineer types.
    return Command(SEVERITY, match.group(1), match.group(2).strip(), line)


def _resolve(line: str, arguments: str) -> Command | CommandError:
    word = arguments.split(maxsplit=1)[0].lower() if arguments else ""
    reason = _RESOLUTION_ALIASES.get(word)
    if reason is None:
        return CommandError(line, "#resolve needs one of: " + ", ".join(RESOLUTIONS))
    return Command(RESOLVE, reason, line=line)


def _conflicts(commands: list[Command]) -> list[CommandError]:
    errors = []
    names = [command.name for command in commands]
    for name in set(names):
        if names.count(name) > 1:
            errors.append(CommandError(f"#{name}", f"#{name} is given more than once"))
    for first, second in _CONFLICTS:
        if first in names and second in names:
            errors.append(CommandError(f"#{first} / #{second}", f"#{first} and #{second} cannot be used together"))
    return errors


_ITEM = re.compile(r"^\s*(?:[-*・•●]|\d{1,2}[.)]|[(（]\d{1,2}[)）]|[①-⑳])\s*(.+?)\s*$")
_ITEM_SEVERITY = re.compile(r"^[\[(（]\s*(?:sev(?:erity)?|深刻度)?\s*([1-4])\s*[\])）]\s*(.+)$", re.IGNORECASE)


def split_items(text: str) -> tuple[tuple[int | None, str], ...]:
    """The problems listed after #split, one list item per line: (stated severity or None, text).

    Items are "- text", "* text", "・text", "1. text", "(1) text" or "① text";
    "[2] text" or "(sev 2) text" states the new incident's severity.
    """
    items: list[tuple[int | None, str]] = []
    for line in text.split("\n"):
        match = _ITEM.match(fold_width(line))
        if match is None:
            continue
        body = match.group(1)
        stated = _ITEM_SEVERITY.match(body)
        items.append((int(stated.group(1)), stated.group(2).strip()) if stated else (None, body))
    return tuple(items)


def has_text_beyond_items(text: str) -> bool:
    """Whether a #split reply says something besides its list of problems (then it is relayed)."""
    return any(line.strip() and _ITEM.match(fold_width(line)) is None for line in text.split("\n"))
