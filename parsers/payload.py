"""Part payloads as bytes: Content-Transfer-Encoding undone, message/* re-serialised.

Payload strings are read as the stdlib parser stored them (ASCII plus
surrogate-escaped 8-bit bytes); tokens left by parsers.elide are swapped
back for the original bytes here, so no caller needs to know about them.
"""

from __future__ import annotations

import io
from email.message import Message

from parsers.elide import Elided
from parsers.transfer import decode_base64, decode_base64_pieces, decode_quoted_printable

MAX_DEPTH = 48  # message/* nesting written back at most this deep
_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
_CRLF_SLICE = 1 << 20


def to_bytes(text: str) -> bytes:
    """Undo the stdlib's ASCII+surrogateescape reading of the wire bytes."""
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # real non-ASCII text: a Message built from str
        return text.encode("utf-8", "surrogateescape")


def _header(part: Message, name: str) -> str | None:
    value = part.get(name)
    return None if value is None else str(value)


def transfer_encoding(part: Message) -> str:
    return (_header(part, "content-transfer-encoding") or "").strip().lower()


def leaf_bytes(part: Message, elided: Elided | None) -> bytes:
    """The payload of a leaf part with its Content-Transfer-Encoding undone."""
    # The raw str is read from ``_payload`` (as mail-parser does): the public
    # get_payload() re-decodes 8-bit text with the declared charset and
    # "replace" before we could see the original bytes.
    raw = getattr(part, "_payload", None)
    if not isinstance(raw, str):
        return b""
    cte = transfer_encoding(part)
    if cte == "base64":
        if elided is not None and elided.holds(raw):
            return decode_base64_pieces(elided.pieces(raw))
        return decode_base64(to_bytes(raw))
    if cte in _UUENCODE:
        if elided is not None and elided.holds(raw):
            part.set_payload(elided.restore(raw))
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else b""
    if elided is not None and elided.holds(raw):
        data = b"".join(elided.pieces(raw))
    else:
        data = to_bytes(raw)
    if cte == "quoted-printable":
        return decode_quoted_printable(data)
    return data  # 7bit, 8bit, binary and unknown encodings: as sent


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _write_crlf(out: io.BytesIO, data: bytes | memoryview) -> None:
    """Write with CRLF line ends (RFC 2046 canonical form), slice by slice."""
    view = memoryview(data)
    start = 0
    while start < len(view):
        end = min(start + _CRLF_SLICE, len(view))
        while end < len(view) and view[end - 1] == 0x0D:  # never split a CRLF
            end += 1
        out.write(crlf(bytes(view[start:end])))
        start = end


def _write_text(out: io.BytesIO, text: str, elided: Elided | None) -> None:
    if elided is not None and elided.holds(text):
        for piece in elided.pieces(text):
            _write_crlf(out, piece)
    else:
        _write_crlf(out, to_bytes(text))


def serialize(msg: Message, out: io.BytesIO, elided: Elided | None, depth: int) -> None:
    """Write a parsed message back as bytes (for message/* attachments)."""
    for name, value in msg.raw_items():
        out.write(to_bytes(name) + b": ")
        _write_crlf(out, to_bytes(str(value)))
        out.write(b"\r\n")
    out.write(b"\r\n")
    payload = getattr(msg, "_payload", None)  # see leaf_bytes
    if isinstance(payload, str):
        _write_text(out, payload, elided)
        return
    if not isinstance(payload, list) or depth > MAX_DEPTH:
        return
    boundary = msg.get_boundary() if msg.get_content_maintype() == "multipart" else None
    if not boundary:
        for child in payload:
            serialize(child, out, elided, depth + 1)
        return
    delimiter = b"--" + to_bytes(boundary)
    if msg.preamble:
        _write_text(out, msg.preamble + "\n", elided)
    for child in payload:
        out.write(delimiter + b"\r\n")
        serialize(child, out, elided, depth + 1)
        out.write(b"\r\n")
    out.write(delimiter + b"--\r\n")
    if msg.epilogue:
        _write_text(out, msg.epilogue, elided)


