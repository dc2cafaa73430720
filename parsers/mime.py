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

from parsers import metadata
from parsers.charsets import decode_text
from parsers.defects import Defects
from parsers.elide import Elided
from parsers.html import html_to_text, sniff_charset
from parsers.model import Attachment
from parsers.payload import crlf, leaf_bytes, serialize, transfer_encoding

MAX_DEPTH = 48  # deeper parts are ignored, with a defect


@dataclass(frozen=True)
class Body:
    text: str
    source: str  # "plain" | "html" | "none"


def _has_text(text: str) -> bool:
    return bool(text) and not text.isspace()  # isspace() stops early; strip() would copy


def _messages(payload: object) -> list[Message]:
    return [item for item in payload if isinstance(item, Message)] if isinstance(payload, list) else []


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
        # One full-size copy alive at a time: bytes, then text, then tidied text.
        data = leaf_bytes(part, self.elided)
        charset = part.get_content_charset()
        if charset is None and kind == "html":
            charset = sniff_charset(data)
        text, defect = decode_text(data, charset)
        del data
        if defect:
            self.defects.add(f"{defect}@body")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text.startswith("\ufeff"):
            text = text[1:]
        if kind == "html":
            text = html_to_text(text)
        return text.strip("\n")

    def select(self, part: Message, depth: int) -> list[tuple[Message, str]]:
        """The leaf parts a reader would see as the body, in order."""
        if depth > MAX_DEPTH:
            self.too_deep = True
            return []
        if self.is_attachment_like(part):
            return []
        ctype = self.ctype(part)
        if ctype.startswith("multipart/"):
            # is_multipart() before get_payload(): on a str payload the latter
            # re-decodes the whole text.
            if not part.is_multipart():  # no boundary: the body is plain text
                return [(part, "plain")]
            return self._select_multipart(part, _messages(part.get_payload()), depth)
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
                root = next((c for c in children if metadata.content_id(c) == wanted), root)
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
            self.attachment_like[key] = metadata.is_attachment_like(part, self.defects)
        return self.attachment_like[key]

    def _filled(self, option: list[tuple[Message, str]]) -> bool:
        return any(_has_text(self.text(part, kind)) for part, kind in option)

    def leaves(self, root: Message) -> list[tuple[Message, bool, str]]:
        """Every leaf (and message/* part) in order: (part, in attachment container, path)."""
        found: list[tuple[Message, bool, str]] = []
        stack: list[tuple[Message, bool, str, int]] = [(root, False, "", 0)]
        while stack:
            part, inside, path, depth = stack.pop()
            self.defects.add_stdlib(part.defects, f"mime{path}")
            if self.ctype(part).startswith("multipart/") and part.is_multipart():
                children = _messages(part.get_payload())
                if depth >= MAX_DEPTH:
                    self.too_deep = True
                    continue
                inside = inside or metadata.disposition(part) == "attachment"
                for index in range(len(children) - 1, -1, -1):
                    stack.append((children[index], inside, f"{path}.{index + 1}", depth + 1))
            else:
                found.append((part, inside, path))
        return found

    def attachment(self, part: Message) -> Attachment:
        if self.ctype(part).startswith("message/") and part.is_multipart():
            out = io.BytesIO()
            for inner in _messages(part.get_payload()):
                serialize(inner, out, self.elided, 0)
            payload = out.getvalue()
        else:
            payload = leaf_bytes(part, self.elided)
            if self.ctype(part).startswith("text/") and transfer_encoding(part) != "base64":
                # RFC 2046 4.1.1: text travels with CRLF line ends; make a bare-LF
                # copy of the same mail hash the same.
                payload = crlf(payload)
        disposition = metadata.disposition(part)
        content_id = metadata.content_id(part)
        return Attachment(
            filename=metadata.filename(part, self.defects),
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
    if not chosen:
        body = Body("", "none")
    else:
        source = "plain" if any(kind == "plain" for _, kind in chosen) else "html"
        texts = [walker.text(part, kind) for part, kind in chosen]
        body = Body("\n".join(t for t in texts if _has_text(t)), source)
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
