"""Address-list header values -> (display name, bare lower-case addr-spec) pairs.

mail-parser's ``get_addresses`` does the structural work (RFC 5322 section
3.4 with recovery: quoted commas, groups, comments, unbalanced delimiters
reported as diagnostics instead of guessed addresses). We bypass two of its
habits, both checked in tests:

* raw 8-bit bytes in the header reach it as surrogate escapes, which it
  flags "invalid-utf8" and renders as literal "\\udce5..." text in the
  display name; we read those bytes first (UTF-8 or Shift_JIS), so
  ``山田 <a@b>`` keeps a readable name;
* its own RFC 2047 decoding of display names fails on CP50220 words (①, ㈱
  in an Outlook ISO-2022-JP name) and leaves quoted encoded-words alone; we
  ask it for raw names and decode them with our own decoder, quoted too,
  since Japanese mailers quote encoded-words routinely.
"""

from __future__ import annotations

import re

from mailparser.utils import get_addresses

from parsers.defects import Defects
from parsers.headers import clean, decode_words, header_text


# Fast path for the shapes nearly every mail uses ("a@b", "Name <a@b>",
# "\"Name\" <a@b>", comma-separated): ~3 us instead of ~50 us in
# get_addresses. Anything else (comments, groups, quoted commas, obsolete
# routes, broken syntax) goes to get_addresses; a property test checks that
# both agree wherever the fast path answers.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_SIMPLE = re.compile(
    rf"[ \t]*(?:({_ADDR})|(?:\"([^\"\\\r\n]*)\"|([^\"<>@,;:\\()\[\].\r\n]*))[ \t]*<({_ADDR})>)[ \t]*"
)


def _simple(text: str) -> list[tuple[str, str]] | None:
    """Mailboxes of a plain comma-separated list, or None if it is not that simple."""
    found = []
    for item in text.split(","):
        match = _SIMPLE.fullmatch(item)
        if match is None:
            return None
        bare, quoted, phrase, angle = match.groups()
        if bare:
            found.append(("", bare))
        elif quoted is not None:
            found.append((quoted, angle))
        else:
            found.append((" ".join(phrase.split()), angle))
    return found


_ANGLE_ADDR = re.compile(r"<\s*([^<>\s\"]+@[^<>\s\"]+?)\s*>")
_BARE_ADDR = re.compile(rf"(?<![^\s,;:(\[\"'])({_ADDR})(?![^\s,;:)\]\"'])")
# "<Postmaster\@x.com@x.com>": a quoted-pair "@" inside the local part, written by some
# MTAs' warnings (issue 13); the mailbox meant is the part before it at the last domain.
_ESCAPED_AT = re.compile(r"^([^@\\]+)\\@.*@([^@]+)$")


def recover_sender(values: list[str]) -> str | None:
    """The one address in a From that get_addresses refused (unbalanced quote, no angle brackets...).

    get_addresses rightly will not guess for forensics; a support desk would
    rather answer ``"Broken <a@b>`` or ``Test test@example.com`` than drop the
    mail's sender. Only a single, unambiguous angle-addr, or else a single bare
    addr-spec among the words, is taken.
    """
    if not values:
        return None
    text = header_text(values[0])
    found = {_unescape(m.lower()) for m in _ANGLE_ADDR.findall(text)}
    if not found:
        found = {m.lower() for m in _BARE_ADDR.findall(text)}
    return found.pop() if len(found) == 1 else None


def _unescape(address: str) -> str:
    match = _ESCAPED_AT.match(address)
    return f"{match.group(1)}@{match.group(2)}" if match else address


def parse_addresses(values: list[str], defects: Defects, where: str,
                    hints: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every mailbox in every occurrence of one header, in order, de-duplicated."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in values:
        text = header_text(raw, defects, where, hints)
        if not text.strip():
            continue
        pairs = _simple(text)
        if pairs is None:
            diagnostics: list[dict[str, object]] = []
            pairs = get_addresses(text, defects=diagnostics, decode_names=False)
            for diagnostic in diagnostics:
                defects.add(f"address:{where}:{diagnostic.get('reason', 'invalid')}")
        for name, addr in pairs:
            addr = addr.strip().lower()
            if not addr or addr in seen:
                continue
            seen.add(addr)
            found.append((clean(decode_words(name, defects, where)).strip(), addr))
    return found


def has_group(values: list[str]) -> bool:
    """Whether an address header uses group syntax (`name: a@b, c@d;`, RFC 5322 §3.4).

    mail-parser's get_addresses flattens a group into its members without a
    word, so a From written as a group would pass for a plain mailbox. A group
    is a ":" outside quoted strings, comments and angle brackets (inside them a
    ":" is a display-name character or an obsolete route, `<@host:a@b>`).
    """
    for raw in values:
        text = header_text(raw)
        if ":" not in text:  # nearly every From: no character walk
            continue
        depth, quoted, angle, escaped = 0, False, False, False
        for char in text:
            if escaped:
                escaped = False
            elif char == "\\" and (quoted or depth):
                escaped = True
            elif quoted:
                quoted = char != '"'
            elif char == "(":
                depth += 1
            elif depth:
                depth -= 1 if char == ")" else 0
            elif char == '"':
                quoted = True
            elif char in "<>":
                angle = char == "<"
            elif char == ":" and not angle:
                return True
    return False
