"""MIME part metadata: disposition, filename and Content-ID (RFC 2183, 2231, 2047, 2392)."""

from __future__ import annotations

from email.message import Message

from parsers.charsets import decode_text
from parsers.defects import Defects
from parsers.headers import clean, decode_words, header_text


def _header(part: Message, name: str) -> str | None:
    value = part.get(name)
    return None if value is None else str(value)


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


def filename(part: Message, defects: Defects) -> str | None:
    # get_param() re-parses the whole header on every call (~8 us); most
    # parts have no name parameter at all, which a substring test shows.
    disposition = _header(part, "content-disposition")
    content_type = _header(part, "content-type")
    if "name" not in (disposition or "").lower() and "name" not in (content_type or "").lower():
        return None
    return _param(part, "filename", "content-disposition", defects) or _param(
        part, "name", "content-type", defects
    )


def disposition(part: Message) -> str | None:
    value = part.get_content_disposition()
    return value.strip().lower() if isinstance(value, str) else None


def content_id(part: Message) -> str | None:
    value = _header(part, "content-id")
    if value is None:
        return None
    value = header_text(value).strip().strip("<>").strip()
    return value or None


def is_attachment_like(part: Message, defects: Defects) -> bool:
    return disposition(part) == "attachment" or filename(part, defects) is not None


