"""Keep big bodies out of the stdlib parser, to bound memory.

The stdlib feed parser holds a body as one str object per line before
joining them: a 25 MB mail peaks near 200 MB through
``email.message_from_bytes`` (measured; ``mailparser.parse_from_bytes`` is
the same since it calls it). So before parsing we cut long runs of "inert"
lines out of the raw bytes and put one short token line in place of each
run. The parser builds a small skeleton; payload readers swap the tokens
back for the original bytes (``raw`` itself, via memoryview slices).

A line is inert when the feed parser can only ever collect it as text: it
is not blank, does not start with "-" (boundaries, RFC 2046 5.1.1) or
whitespace (header continuation), is not a header field line ("name:") and
not "From ", and holds no bare CR (which the parser treats as a line
break). In a header section such a line ends the headers, exactly as the
token line does; anywhere else it is body, preamble or epilogue text. The
token is such a line too, with a per-parse random nonce the sender cannot
guess.

Base64 bodies, the usual big thing, are found first with a fast scan for
runs of base64 characters; the slower inert-line scan then covers the rest
(big text and quoted-printable bodies).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

MIN_MAIL = 512 * 1024  # smaller mails are parsed as they are
_WINDOW = 32 * 1024  # base64 runs are found through aligned windows of this size
_MIN_SPAN = 16 * 1024  # shorter runs are left in place
_NOT_B64_LINE = re.compile(rb"[^A-Za-z0-9+/=\r\n]")
# A "\n" followed by a line the parser may treat as structure, or a bare CR.
# Lookahead only, so every line start is examined. The field-name class is
# the feed parser's own headerRE.
_STRUCTURAL = re.compile(rb"\n(?=[-\s]|From |[\x21-\x39\x3b-\x7e]*:)|\r(?!\n)")
_BARE_CR = re.compile(rb"\r(?!\n)")
# One or more blank lines after a line break: structure inside message/* parts (RFC 3464 §2.1:
# a delivery-status body is blocks of fields separated by blank lines; RFC 2046 §5.2.1: the
# blank line that ends an enclosed message's header).
_BLANK_LINES = re.compile(rb"\r?\n(?:\r?\n)+")


@dataclass
class Elided:
    """Where each token stands in for bytes of the original mail."""

    raw: bytes
    nonce: str
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(f"SGW{self.nonce}X([0-9]+)Z")

    def token(self, index: int) -> str:
        return f"SGW{self.nonce}X{index}Z"

    def holds(self, text: str) -> bool:
        """Whether a payload string contains any token."""
        return bool(self.spans) and f"SGW{self.nonce}X" in text

    def span(self, token_match: re.Match[str]) -> memoryview:
        start, end = self.spans[token_match.group(0)]
        return memoryview(self.raw)[start:end]

    def pieces(self, text: str) -> Iterator[bytes | memoryview]:
        """The original bytes of ``text``: its own characters, tokens swapped back."""
        pos = 0
        for match in self.pattern.finditer(text):
            if match.group(0) not in self.spans:
                continue
            yield text[pos : match.start()].encode("ascii", "surrogateescape")
            yield self.span(match)
            pos = match.end()
        yield text[pos:].encode("ascii", "surrogateescape")

    def restore(self, text: str) -> str:
        """``text`` with every token replaced by the original characters."""
        return self.pattern.sub(
            lambda m: (
                bytes(self.span(m)).decode("ascii", "surrogateescape")  # as the parser reads bytes
                if m.group(0) in self.spans
                else m.group(0)
            ),
            text,
        )


def _run_end(raw: bytes, start: int) -> int:
    found = _NOT_B64_LINE.search(raw, start)
    return found.start() if found else len(raw)


def _trim(raw: bytes, begin: int, newline: int) -> tuple[int, int] | None:
    """Lines from ``begin`` up to the "\n" at ``newline``, that line break excluded."""
    end = newline - 1 if newline > begin and raw[newline - 1] == 0x0D else newline
    return (begin, end) if end - begin >= _MIN_SPAN else None


def _base64_runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """Long runs of whole non-empty lines made of base64 characters only."""
    window = 0
    while window < len(raw):
        limit = min(window + _WINDOW, len(raw))
        if _NOT_B64_LINE.search(raw, window, limit):
            window = limit
            continue
        start, end = window, _run_end(raw, limit)
        window = max(end, limit)
        first = raw.find(b"\n", start, end)
        if first < 0:
            continue
        # Blank lines end header sections and delivery-status blocks: keep
        # them (and the partial lines at both ends) in the skeleton.
        begin = first + 1
        while begin < end and raw[begin] in b"\r\n":
            begin += 1
        stop = raw.rfind(b"\n", begin, end)
        while stop > begin and raw[stop - 1] in b"\r\n":
            stop -= 1
        # A bare CR is a line break to the parser (a blank line, even): leave
        # such a run to the line-by-line scan.
        if stop - begin >= _MIN_SPAN and not _BARE_CR.search(raw, begin, stop):
            yield from _between_blank_lines(raw, begin, stop)


def _between_blank_lines(raw: bytes, begin: int, stop: int) -> Iterator[tuple[int, int]]:
    """The parts of a run between its blank lines, long enough to cut: the blank lines stay."""
    for blank in _BLANK_LINES.finditer(raw, begin, stop):
        if blank.start() - begin >= _MIN_SPAN:
            yield begin, blank.start()
        begin = blank.end()
    if stop - begin >= _MIN_SPAN:
        yield begin, stop


def _inert_runs(raw: bytes, start: int, stop: int) -> Iterator[tuple[int, int]]:
    """Long runs of inert lines (see the module docstring) inside [start, stop)."""
    first = raw.find(b"\n", start, stop)
    if first < 0:
        return
    begin = first + 1  # only lines that follow a "\n" in range are checked
    for match in _STRUCTURAL.finditer(raw, first, stop):
        if raw[match.start()] == 0x0D:  # a bare CR: skip the whole line around it
            newline = raw.rfind(b"\n", 0, match.start())
        else:
            newline = match.start()
        if newline > begin and (run := _trim(raw, begin, newline)):
            yield run
        after = raw.find(b"\n", match.start() + 1, stop)
        begin = max(begin, after + 1 if after >= 0 else stop)
    last = raw.rfind(b"\n", begin, stop)
    if last > begin and (run := _trim(raw, begin, last)):
        yield run


def elide(raw: bytes) -> tuple[bytes, Elided | None]:
    """Return the bytes to parse and, if anything was cut out, how to restore it."""
    if len(raw) < MIN_MAIL:
        return raw, None
    spans: list[tuple[int, int]] = []
    kept = 0
    for begin, end in _base64_runs(raw):
        spans += _inert_runs(raw, kept, begin)
        spans.append((begin, end))
        kept = end
    spans += _inert_runs(raw, kept, len(raw))
    if not spans:
        return raw, None
    elided = Elided(raw, secrets.token_hex(8))  # 64 random bits: unguessable by the sender
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    kept = 0
    for begin, end in spans:
        token = elided.token(len(elided.spans))
        elided.spans[token] = (begin, end)
        pieces += [view[kept:begin], token.encode("ascii")]
        kept = end
    pieces.append(view[kept:])
    return b"".join(pieces), elided
