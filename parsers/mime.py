"""Walk a parsed MIME tree: pick the body text, collect the attachments.

Body choice follows what a mail reader shows (RFC 2046 section 5.1):
``multipart/alternative`` offers one of its parts (we prefer a non-empty
text/plain, else the richest, i.e. last, non-empty one), ``multipart/related``
shows its root (RFC 2387 ``start``, else the first part), ``multipart/signed``
its first part, and ``mixed``/``report``/unknown multiparts show their inline
text parts one after the other (plain ones only, if there are any). Parts
marked ``attachment`` or carrying a filename (RFC 2183) are never body text,
and a ``message/rfc822`` part is an attachment, never descended into.

Every leaf that is not chosen as body and is not a spare text/plain or
text/html alternative is an attachment: anything with a filename or an
attachment disposition, and every non-text or non-plain/html text part
(message/delivery-status, text/rfc822-headers, text/calendar ...).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from email.message import Message

from parsers.charsets import decode_text
from parsers.defects import Defects
from parsers.elide import Elided
from parsers.headers import clean, decode_words, header_text
from parsers.html import html_to_text, sniff_charset
from parsers.model import Attachment
from parsers.transfer import decode_base64, decode_base64_pieces, decode_quoted_printable

MAX_DEPTH = 48  # deeper parts are ignored, with a defect
_UUENCODE = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})
_CRLF_SLICE = 1 << 20


@dataclass(frozen=True)
class Body:
    text: str
    source: str  # "plain" | "html" | "none"


def _to_bytes(text: str) -> bytes:
    """Undo the stdlib's ASCII+surrogateescape reading of the wire bytes."""
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # real non-ASCII text: a Message built from str
        return text.encode("utf-8", "surrogateescape")


def _header(part: Message, name: str) -> str | None:
    value = part.get(name)
    return None if value is None else str(value)


def _transfer_encoding(part: Message) -> str:
    return (_header(part, "content-transfer-encoding") or "").strip().lower()


def leaf_bytes(part: Message, elided: Elided | None) -> bytes:
    """The payload of a leaf part with its Content-Transfer-Encoding undone."""
    # The raw str is read from ``_payload`` (as mail-parser does): the public
    # get_payload() re-decodes 8-bit text with the declared charset and
    # "replace" before we could see the original bytes.
    raw = part._payload  # noqa: SLF001
    if not isinstance(raw, str):
        return b""
    cte = _transfer_encoding(part)
    if cte == "base64":
        if elided is not None and elided.holds(raw):
            return decode_base64_pieces(elided.pieces(raw))
        return decode_base64(_to_bytes(raw))
    if elided is not None and elided.holds(raw):
        raw = elided.restore(raw)
        part.set_payload(raw)
    if cte == "quoted-printable":
        return decode_quoted_printable(_to_bytes(raw))
    if cte in _UUENCODE:
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else b""
    return _to_bytes(raw)  # 7bit, 8bit, binary and unknown encodings: as sent


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _write_crlf(out: io.BytesIO, data: bytes | memoryview) -> None:
    """Write with CRLF line ends (RFC 2046 canonical form), slice by slice."""
    view = memoryview(data)
    start = 0
    while start < len(view):
        end = min(start + _CRLF_SLICE, len(view))
        while end < len(view) and view[end - 1] == 0x0D:  # never split a CRLF
            end += 1
        out.write(_crlf(bytes(view[start:end])))
        start = end


def _serialize(msg: Message, out: io.BytesIO, elided: Elided | None, depth: int) -> None:
    """Write a parsed message back as bytes (for message/* attachments)."""
    for name, value in msg.raw_items():
        out.write(_to_bytes(name) + b": ")
        _write_crlf(out, _to_bytes(str(value)))
        out.write(b"\r\n")
    out.write(b"\r\n")
    payload = msg._payload  # noqa: SLF001 - see leaf_bytes
    if isinstance(payload, str):
        if elided is not None and elided.holds(payload):
            for piece in elided.pieces(payload):
                _write_crlf(out, piece)
        else:
            _write_crlf(out, _to_bytes(payload))
        return
    if not isinstance(payload, list) or depth > MAX_DEPTH:
        return
    boundary = msg.get_boundary() if msg.get_content_maintype() == "multipart" else None
    if not boundary:
        for child in payload:
            _serialize(child, out, elided, depth + 1)
        return
    delimiter = b"--" + _to_bytes(boundary)
    if msg.preamble:
        _write_crlf(out, _to_bytes(msg.preamble) + b"\n")
    for child in payload:
        out.write(delimiter + b"\r\n")
        _serialize(child, out, elided, depth + 1)
        out.write(b"\r\n")
    out.write(delimiter + b"--\r\n")
    if msg.epilogue:
        _write_crlf(out, _to_bytes(msg.epilogue))


def _param(part: Message, name: str, header: str, defects: Defects) -> str | None:
    """A MIME parameter, decoded: RFC 2231 (incl. continuations) and RFC 2047."""
    value = part.get_param(name, None, header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1)
        charset, _language, text = value
        try:
            data = text.encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogateescape")
        decoded, defect = decode_text(data, charset or None)
        if defect:
            defects.add(f"{defect}@{name}")
        return clean(decoded).strip() or None
    text = header_text(str(value), defects, name)
    # RFC 2047 section 5 forbids encoded-words in parameters; every mailer
    # in Japan writes filename="=?ISO-2022-JP?B?...?=" regardless.
    return clean(decode_words(text, defects, name)).strip() or None


def _filename(part: Message, defects: Defects) -> str | None:
    # get_param() re-parses the whole header on every call (~8 us); most
    # parts have no name parameter at all, which a substring test shows.
    disposition = _header(part, "content-disposition")
    content_type = _header(part, "content-type")
    if "name" not in (disposition or "").lower() and "name" not in (content_type or "").lower():
        return None
    return _param(part, "filename", "content-disposition", defects) or _param(
        part, "name", "content-type", defects
    )


def _disposition(part: Message) -> str | None:
    value = part.get_content_disposition()
    return value.strip().lower() if isinstance(value, str) else None


def _content_id(part: Message) -> str | None:
    value = _header(part, "content-id")
    if value is None:
        return None
    value = header_text(value).strip().strip("<>").strip()
    return value or None


def _is_attachment_like(part: Message, defects: Defects) -> bool:
    return _disposition(part) == "attachment" or _filename(part, defects) is not None


class _Walker:
    """State for one mail: decoded texts are cached so nothing is decoded twice."""

    def __init__(self, elided: Elided | None, defects: Defects) -> None:
        self.elided = elided
        self.defects = defects
        self.texts: dict[int, str] = {}
        self.attachment_like: dict[int, bool] = {}
        self.types: dict[int, str] = {}
        self.too_deep = False

    def ctype(self, part: Message) -> str:
        """get_content_type(), memoised: each call rescans every header (~6 us)."""
        key = id(part)
        if key not in self.types:
            self.types[key] = part.get_content_type()
        return self.types[key]

    def text(self, part: Message, kind: str) -> str:
        key = id(part)
        if key not in self.texts:
            self.texts[key] = self._decode_text(part, kind)
        return self.texts[key]

    def _decode_text(self, part: Message, kind: str) -> str:
        data = leaf_bytes(part, self.elided)
        charset = part.get_content_charset()
        if charset is None and kind == "html":
            charset = sniff_charset(data)
        text, defect = decode_text(data, charset)
        if defect:
            self.defects.add(f"{defect}@body")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.lstrip("\ufeff")
        if kind == "html":
            text = html_to_text(text)
        return text

    def select(self, part: Message, depth: int) -> list[tuple[Message, str]]:
        """The leaf parts a reader would see as the body, in order."""
        if depth > MAX_DEPTH:
            self.too_deep = True
            return []
        if self.is_attachment_like(part):
            return []
        ctype = self.ctype(part)
        if ctype.startswith("multipart/"):
            children = part.get_payload()
            if not isinstance(children, list):  # no boundary: the body is plain text
                return [(part, "plain")]
            return self._select_multipart(part, children, depth)
        if ctype == "text/plain":
            return [(part, "plain")]
        if ctype == "text/html":
            return [(part, "html")]
        return []

    def _select_multipart(
        self, part: Message, children: list[Message], depth: int
    ) -> list[tuple[Message, str]]:
        subtype = self.ctype(part).partition("/")[2]
        if not children or subtype == "encrypted":
            return []
        if subtype == "alternative":
            options = [self.select(child, depth + 1) for child in children]
            # Decide on plain options first: the HTML is only converted when
            # no non-empty plain alternative exists.
            plain = [o for o in options if o and all(kind == "plain" for _, kind in o)]
            for option in plain:
                if self._filled(option):
                    return option
            for option in reversed(options):  # RFC 2046 5.1.4: last is richest
                if option and option not in plain and self._filled(option):
                    return option
            return next((o for o in options if o), [])
        if subtype == "related":
            start = part.get_param("start")
            root = children[0]
            if isinstance(start, str):
                wanted = start.strip().strip("<>")
                root = next((c for c in children if _content_id(c) == wanted), root)
            return self.select(root, depth + 1)
        if subtype == "signed":
            return self.select(children[0], depth + 1)
        chosen = [found for child in children for found in self.select(child, depth + 1)]
        if any(kind == "plain" for _, kind in chosen):
            chosen = [(p, kind) for p, kind in chosen if kind == "plain"]
        return chosen

    def is_attachment_like(self, part: Message) -> bool:
        key = id(part)
        if key not in self.attachment_like:
            self.attachment_like[key] = _is_attachment_like(part, self.defects)
        return self.attachment_like[key]

    def _filled(self, option: list[tuple[Message, str]]) -> bool:
        return any(self.text(part, kind).strip() for part, kind in option)

    def leaves(self, root: Message) -> list[tuple[Message, bool, str]]:
        """Every leaf (and message/* part) in order: (part, in attachment container, path)."""
        found: list[tuple[Message, bool, str]] = []
        stack: list[tuple[Message, bool, str, int]] = [(root, False, "", 0)]
        while stack:
            part, inside, path, depth = stack.pop()
            self.defects.add_stdlib(part.defects, f"mime{path}")
            children = part.get_payload()
            if self.ctype(part).startswith("multipart/") and isinstance(children, list):
                if depth >= MAX_DEPTH:
                    self.too_deep = True
                    continue
                inside = inside or _disposition(part) == "attachment"
                for index in range(len(children) - 1, -1, -1):
                    stack.append((children[index], inside, f"{path}.{index + 1}", depth + 1))
            else:
                found.append((part, inside, path))
        return found

    def attachment(self, part: Message) -> Attachment:
        if self.ctype(part).startswith("message/") and isinstance(part.get_payload(), list):
            out = io.BytesIO()
            for inner in part.get_payload():
                _serialize(inner, out, self.elided, 0)
            payload = out.getvalue()
        else:
            payload = leaf_bytes(part, self.elided)
        disposition = _disposition(part)
        content_id = _content_id(part)
        return Attachment(
            filename=_filename(part, self.defects),
            content_type=self.ctype(part),
            payload=payload,
            sha256=hashlib.sha256(payload).hexdigest(),
            content_id=content_id,
            inline=disposition == "inline" or (disposition is None and content_id is not None),
        )


def walk(root: Message, elided: Elided | None, defects: Defects) -> tuple[Body, tuple[Attachment, ...]]:
    """Body text and attachments of a parsed message."""
    walker = _Walker(elided, defects)
    chosen = walker.select(root, 0)
    texts = [walker.text(part, kind).strip("\n") for part, kind in chosen]
    if not chosen:
        body = Body("", "none")
    else:
        source = "plain" if any(kind == "plain" for _, kind in chosen) else "html"
        body = Body("\n".join(t for t in texts if t.strip()), source)
    used = {id(part) for part, _ in chosen}
    attachments: list[Attachment] = []
    for part, inside, path in walker.leaves(root):
        if id(part) in used:
            continue
        ctype = walker.ctype(part)
        if not (inside or ctype not in ("text/plain", "text/html") or walker.is_attachment_like(part)):
            continue  # a text alternative nobody chose: not an attachment
        try:
            attachments.append(walker.attachment(part))
        except (LookupError, ValueError, TypeError, UnicodeError) as exc:
            defects.add(f"attachment-unreadable:mime{path}:{type(exc).__name__}")
    if walker.too_deep:
        defects.add("mime-too-deep")
    return body, tuple(attachments)
