"""A reply's own text: quoted history, attribution lines and the signature removed.

What the mail clients write (the formats the tests rebuild):

* Outlook (en, ja) top-posts and puts the original below a header block:
  an optional "-----Original Message-----" / "-----元のメッセージ-----" line or a
  row of underscores, then "From:/差出人:", "Sent:/送信日時:", "To:/宛先:",
  "Subject:/件名:". Everything from that block on is history.
* Gmail, Thunderbird, Apple Mail and mutt quote with "> " under an attribution
  line: "On … wrote:", "2026年11月24日(火) 10:00 山田 <x@y>:", "… のメール:",
  "Am … schrieb …:". People answer above (top-posting), below (mutt users) or
  between quotes, so quoted lines and their attribution are removed wherever
  they are and the person's own lines are kept.
* Signatures start at "-- " (RFC 3676 §4.3) or, in Japanese mail, at a rule of
  box-drawing or symbol characters followed by a few short lines.
"""

from __future__ import annotations

import re

from parsers.subject import fold_width

_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|元のメッセージ|元のﾒｯｾｰｼﾞ|forwarded message|転送されたメッセージ)\s*-{2,}"
    r"|_{10,}|-{5,}\s*(?:original|元の).*)\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**(?:from|差出人|送信者|von|de)\**\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\**(?:sent|date|to|cc|subject|送信日時|日付|日時|宛先|件名|gesendet|an|betreff|envoyé|objet)\**\s*[:：]",
    re.IGNORECASE,
)
# Attribution lines above a quote; the colon ends the line.
_ATTRIBUTION = re.compile(
    r"(?:\bwrote\s*:|\bwrites\s*:|\bschrieb\b.*:|\ba écrit\s*:|のメール\s*[:：]|のメッセージ\s*[:：]|"
    r"書きました\s*[:：]?|^\s*\d{4}[年/.-]\s*\d{1,2}[月/.-]\s*\d{1,2}日?.*[:：]|^\s*\*\s.+\[\d{4}-\d\d-\d\d.*\]\s*:)\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|am|le|el)\s.+", re.IGNORECASE)
_RULE = re.compile(r"^\s*[-=_*~━─═＝＿＊～※◆■□◇●○☆★]{8,}\s*$")
_SIGNATURE_LINES = 12


def strip_quotes(text: str) -> str:
    """The new text of a reply, without history, quotes or signature; blank edges trimmed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _cut_header_block(lines)
    lines = _drop_quoted(lines)
    lines = _cut_signature(lines)
    return _trim("\n".join(lines))


def _cut_header_block(lines: list[str]) -> list[str]:
    """Everything from Outlook's separator or "From:/差出人:" header block on is history."""
    for index, line in enumerate(lines):
        folded = fold_width(line)
        if _SEPARATOR.match(folded):
            return lines[:index]
        if _HEADER_FROM.match(folded) and _has_header_after(lines, index):
            start = index - 1 if index and _RULE.match(fold_width(lines[index - 1])) else index
            return lines[:start]
    return lines


def _has_header_after(lines: list[str], index: int) -> bool:
    following = [fold_width(line) for line in lines[index + 1:index + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_NEXT.match(line)) >= 2


def _drop_quoted(lines: list[str]) -> list[str]:
    """Remove "> " lines and the attribution line (one or two lines) right above a quote."""
    if not any(_quoted(line) for line in lines):
        return lines  # no quote, so no attribution line either (most new mail)
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _quoted(line):
            continue
        if _is_attribution(lines, index):
            continue
        kept.append(line)
    return kept


def _quoted(line: str) -> bool:
    """A quote line: ">" or the full-width "＞" Japanese mailers also write (issue 11)."""
    return line.lstrip(" \t\u3000").startswith((">", "＞"))


def _is_attribution(lines: list[str], index: int) -> bool:
    nxt = _next_nonblank(lines, index)
    if nxt is None or not _quoted(lines[nxt]):
        # a wrapped attribution: "On Tue, … Support Desk <" / "support@x> wrote:" then quotes
        if nxt is not None and _ATTRIBUTION_START.match(fold_width(lines[index])) and \
                _ATTRIBUTION.search(fold_width(lines[nxt])):
            return _is_attribution(lines, nxt)
        return False
    folded = fold_width(lines[index])
    if _ATTRIBUTION.search(folded):
        return True
    previous = index - 1
    return previous >= 0 and bool(_ATTRIBUTION_START.match(fold_width(lines[previous]))) and folded.rstrip().endswith(":")


def _next_nonblank(lines: list[str], index: int) -> int | None:
    for position in range(index + 1, min(index + 3, len(lines))):
        if lines[position].strip():
            return position
    return None


def _cut_signature(lines: list[str]) -> list[str]:
    """Cut at the last "-- " line, or at a rule that starts a short block running to the end."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() in ("--", "-- "):
            return lines[:index]
    rules = [index for index, line in enumerate(lines) if _RULE.match(fold_width(line))]
    if not rules:
        return lines
    start = rules[-1]
    if not any(line.strip() for line in lines[start + 1:]) and len(rules) > 1:
        start = rules[-2]  # a signature framed by two rules
    tail = [line for line in lines[start + 1:] if line.strip() and not _RULE.match(fold_width(line))]
    if 0 < len(tail) <= _SIGNATURE_LINES and all(len(line) <= 80 for line in tail):
        return lines[:start]
    return lines


def _trim(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")
