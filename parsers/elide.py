"""Keep big base64 bodies out of the stdlib parser, to bound memory.

The stdlib feed parser holds a body as one str object per line before
joining them: a 25 MB mail peaks near 200 MB through
``email.message_from_bytes`` (measured; ``mailparser.parse_from_bytes`` is
the same since it calls it). Base64 bodies are the only thing that big in
practice, so before parsing we find long runs of whole lines made only of
base64 characters and replace each with a short token line. The parser then
builds a small skeleton; payload readers swap the tokens back for the
original bytes (``raw`` itself, via memoryview slices, never a copy of it).

A token is an alphabet-only line with a per-parse random nonce: to the
parser it is the same kind of line as the ones it replaces (no colon, no
leading "-" or whitespace, so no header, boundary or continuation
semantics), and a sender cannot forge one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

MIN_MAIL = 512 * 1024  # smaller mails are parsed as they are
_WINDOW = 32 * 1024  # runs are found through aligned windows of this size
_MIN_SPAN = 16 * 1024
_NOT_B64_LINE = re.compile(rb"[^A-Za-z0-9+/=\r\n]")


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
            lambda m: bytes(self.span(m)).decode("ascii") if m.group(0) in self.spans else m.group(0),
            text,
        )


def _run_end(raw: bytes, start: int) -> int:
    found = _NOT_B64_LINE.search(raw, start)
    return found.start() if found else len(raw)


def _whole_lines(raw: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Shrink [start, end) to complete non-empty lines, excluding the last line break."""
    first = raw.find(b"\n", start, end)
    if first < 0:
        return None
    begin = first + 1
    while begin < end and raw[begin] in b"\r\n":  # keep blank lines in the skeleton
        begin += 1
    last = raw.rfind(b"\n", begin, end)
    if last < 0:
        return None
    if raw[last - 1] == 0x0D:
        last -= 1
    while last > begin and raw[last - 1] in b"\r\n":
        last -= 1
    if last - begin < _MIN_SPAN:
        return None
    return begin, last


def elide(raw: bytes) -> tuple[bytes, Elided | None]:
    """Return the bytes to parse and, if anything was cut out, how to restore it."""
    if len(raw) < MIN_MAIL:
        return raw, None
    nonce = secrets.token_hex(8)
    while nonce.encode() in raw:  # pragma: no cover - 2**-64
        nonce = secrets.token_hex(8)
    elided = Elided(raw, nonce)
    pieces: list[bytes | memoryview] = []
    view = memoryview(raw)
    kept = 0
    window = 0
    while window < len(raw):
        limit = min(window + _WINDOW, len(raw))
        if _NOT_B64_LINE.search(raw, window, limit):
            window = limit
            continue
        end = _run_end(raw, limit)
        lines = _whole_lines(raw, window, end)
        window = max(end, limit)
        if lines is None:
            continue
        begin, stop = lines
        token = elided.token(len(elided.spans))
        elided.spans[token] = (begin, stop)
        pieces += [view[kept:begin], token.encode("ascii")]
        kept = stop
    if not elided.spans:
        return raw, None
    pieces.append(view[kept:])
    return b"".join(pieces), elided
