"""Outgoing mail as bytes: safe headers, our Message-ID, loop markers, Japanese encodings.

Built by hand (see build_message): the header charset is picked per customer
(ISO-2022-JP encoded-words for customers whose mail systems want them) where
the modern email API always writes UTF-8.

Internationalised mail (RFC 6530-6532) is decided per message: a mail to a
non-ASCII address can only travel over SMTPUTF8 (RFC 6531 §3.4), so it is
marked so (`needs_smtputf8`) and its headers are raw UTF-8 (RFC 6532 §3).
Every other mail stays plain 7-bit ASCII that any relay carries: a customer's
non-ASCII Message-ID is then left out of In-Reply-To and References
(`left_out_ids` names them, and the letter's notice event records them). Our
own threading never depends on those ids: replies carry our ASCII Message-ID
and the reply token.
"""

from __future__ import annotations

import base64
import re
import os
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache

from gateway.codes import LOOP_HEADER
from gateway.outbound.mime_parts import (
    OutgoingAttachment,
    attachment_part,
    clean_content_id,
    clean_filename,
    html_with_images,
    multipart,
    shown_inline,
)

# Controls, line separators and lone surrogates (which no encoder accepts).
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85\ud800-\udfff]+")
_NOT_IN_AN_ID = re.compile(r"[\s<>]")


def clean_header(value: str, limit: int = 900) -> str:
    """Make customer input safe as a header value: no CR/LF (no header injection), no controls."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def needs_smtputf8(mail: OutgoingMail) -> bool:
    """RFC 6531 §3.4: a non-ASCII mailbox in the envelope can only be sent with SMTPUTF8."""
    return not all(address.isascii() for address in (mail.mail_from, *mail.to))


def _header_id(value: str | None, utf8: bool) -> str | None:
    """A Message-ID fit for In-Reply-To/References (RFC 5322 §3.6.4), or None to leave it out.

    Garbage (spaces, angle brackets, controls) is never written; a non-ASCII id
    only in a message that goes over SMTPUTF8 anyway (RFC 6532 §3.2).
    """
    cleaned = (value or "").strip()
    if not cleaned or _CONTROL.search(cleaned) or _NOT_IN_AN_ID.search(cleaned) or len(cleaned) > 900:
        return None
    return cleaned if utf8 or cleaned.isascii() else None


def left_out_ids(mail: OutgoingMail) -> list[str]:
    """The customer's Message-IDs this mail cannot carry in In-Reply-To/References (see the docstring)."""
    utf8 = needs_smtputf8(mail)
    ids = [mail.in_reply_to] if mail.in_reply_to else []
    return list(dict.fromkeys(i for i in (*ids, *mail.references) if i and _header_id(i, utf8) is None))


def _date(at: datetime) -> str:
    """The Date header value (RFC 5322 §3.3), as the writer's zone shows it."""
    return _date_in(at, at.utcoffset())  # equal instants in other zones must not share a text


@lru_cache(maxsize=64)  # a tick dates all its letters with the same minute (issue 14)
def _date_in(at: datetime, _offset: object) -> str:
    return format_datetime(at)


def new_message_id(domain: str) -> str:
    """A bare Message-ID of our own, recognisable as ours by its `gw.` prefix."""
    return f"gw.{os.urandom(16).hex()}@{domain}"  # 128 random bits, as uuid4 (without its object)


@dataclass(frozen=True)
class OutgoingMail:
    mail_from: str  # envelope sender and From address
    from_name: str
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str  # bare
    date: datetime
    charset: str = "utf-8"  # "utf-8" | "iso-2022-jp"
    in_reply_to: str | None = None  # bare
    references: tuple[str, ...] = ()
    auto_submitted: str = "auto-replied"  # RFC 3834 §5: auto-replied | auto-generated; "": a person's words
    loop_marker: str = "support-gateway"
    reply_to: str | None = None
    attachments: tuple[OutgoingAttachment, ...] = ()  # byte-identical files (gateway.outbound.mime_parts)


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(_CODEC.get(charset, charset))
    except UnicodeEncodeError:
        return False
    return True


_CODEC = {"iso-2022-jp": "iso2022_jp", "utf-8": "utf-8"}
_MAX_LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be no longer than 78 characters


def _encoded_words(text: str, charset: str, room: int) -> list[str]:
    """RFC 2047 'B' encoded-words for `text`, each whole characters, the first fitting in `room`.

    Every word is encoded on its own, so an ISO-2022-JP word returns to ASCII at
    its end as RFC 1468 asks, and no UTF-8 character is split between words.
    """
    codec, prefix = _CODEC[charset], f"=?{charset}?b?"
    words: list[str] = []
    start = 0
    while True:
        limit = ((room - len(prefix) - 2) // 4) * 3  # raw bytes whose base64 fits the room
        end = _longest_fit(text, start, codec, limit)
        words.append(f"{prefix}{base64.b64encode(text[start:end].encode(codec)).decode('ascii')}?=")
        if end >= len(text):
            return words
        start, room = end, _MAX_LINE - 1


def _longest_fit(text: str, start: int, codec: str, limit: int) -> int:
    """The end of the longest `text[start:end]` (one character at least) whose encoding has ≤ `limit` bytes.

    A binary search, not a character at a time (issue 14: re-encoding the growing
    word for every character was a tenth of a scheduled letter's CPU). It finds
    what adding characters one by one finds, because an encoding only grows
    when a character is added (UTF-8; ISO-2022-JP: a switch back to ASCII is
    as long as the final one it replaces). Every character is at least one byte,
    so no more than `limit` of them fit.
    """
    low, high = start + 1, max(min(len(text), start + limit + 1), start + 1)
    if high == len(text) and len(text[start:high].encode(codec)) <= limit:
        return high
    while high - low > 1:  # text[start:low] fits (or is one character); text[start:high] does not
        middle = (low + high) // 2
        if len(text[start:middle].encode(codec)) <= limit:
            low = middle
        else:
            high = middle
    return low


def _fold(name: str, tokens: list[str], encoding: str = "ascii") -> bytes:
    """`Name: token token…` folded between tokens (CRLF + space) to keep lines within 78 characters.

    `encoding` is "utf-8" only for a message sent over SMTPUTF8 (RFC 6532 raw UTF-8 headers).
    """
    lines, line = [], f"{name}:"
    for token in tokens:
        if len(line) + 1 + len(token) > _MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += f" {token}"
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _text_header(name: str, value: str, charset: str) -> bytes:
    """A header whose value is free text (Subject): ASCII as it is, anything else as encoded-words."""
    value = clean_header(value)
    if value.isascii():
        return _fold(name, value.split(" "))
    return _fold(name, _encoded_words(value, charset, _MAX_LINE - len(name) - 2))


def _address(name: str, address: str, charset: str) -> list[str]:
    name = clean_header(name).replace('"', "'").replace("\\", "/")
    if not name:
        return [address]
    if name.isascii():
        return [f'"{name}"', f"<{address}>"]
    return [*_encoded_words(name, charset, _MAX_LINE - len("From: ")), f"<{address}>"]


def _body(text: str, charset: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body bytes with CRLF): 7bit ISO-2022-JP, else base64 UTF-8."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if charset == "iso-2022-jp":
        return "7bit", "\r\n".join(line.encode("iso2022_jp").decode("ascii") for line in lines).encode("ascii")
    body = "\n".join(lines).encode("utf-8", "replace")  # a lone surrogate becomes "?", never an error
    return "base64", _base64_lines(body)


def _base64_lines(data: bytes) -> bytes:
    """base64.encodebytes(data) with CRLF line ends (76 characters a line, RFC 2045 §6.8), in one encode.

    encodebytes encodes 57 bytes at a time in a Python loop (issue 14: a letter's
    body is dozens of such lines); 57 bytes are exactly 76 characters without
    padding, so slicing one encoding gives the same lines.
    """
    encoded = base64.b64encode(data)
    return b"".join(encoded[i:i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def _legacy_name(attachment: OutgoingAttachment, charset: str) -> list[str]:
    """The Content-Type `name=` parameter: the cleaned name, encoded-words in the header charset if not ASCII.

    Not RFC 2047 (§5 forbids encoded-words in quoted strings), but what Japanese
    mail clients (Outlook, Becky!, older Thunderbird) write and read; the
    RFC 2231 `filename*` beside it is what standard clients use.
    """
    name = clean_filename(attachment.filename, attachment.content_type)  # never a '"' nor a '\\'
    if name.isascii():
        return [f'name="{name}"']
    words = _encoded_words(name, charset if _encodable(name, charset) else "utf-8", 60)
    words[0], words[-1] = 'name="' + words[0], words[-1] + '"'
    return words


def _content(mail: OutgoingMail, charset: str) -> tuple[bytes, bytes]:
    """(the Content-Type and Content-Transfer-Encoding header lines, the body) of the whole message.

    Text only: one text/plain part. With files: multipart/mixed, the text first.
    With inline images (issue 11): the text becomes multipart/related holding a
    multipart/alternative (the text, and the same text as HTML showing the
    images by cid:) and the images, so they appear inline where HTML is read.
    """
    encoding, text = _body(mail.body, charset)
    text_head = (f'Content-Type: text/plain; charset="{charset}"\r\n'
                 f"Content-Transfer-Encoding: {encoding}\r\n").encode("ascii")
    if not mail.attachments:
        return text_head, text
    inline = [a for a in mail.attachments if shown_inline(a) and clean_content_id(a.content_id)]
    files = [a for a in mail.attachments if all(a is not i for i in inline)]  # by identity: no byte compares
    first = text_head + b"\r\n" + text
    if inline:
        html_encoding, html = _body(html_with_images(mail.body, inline), charset)
        html_part = (f'Content-Type: text/html; charset="{charset}"\r\n'
                     f"Content-Transfer-Encoding: {html_encoding}\r\n\r\n").encode("ascii") + html
        head, body = multipart("alternative", [first, html_part])
        head, body = multipart("related", [head + b"\r\n" + body,
                                           *(attachment_part(a, _legacy_name(a, charset)) for a in inline)],
                               extra=';\r\n type="multipart/alternative"')
        first = head + b"\r\n" + body
        if not files:
            return head, body
    return multipart("mixed", [first, *(attachment_part(a, _legacy_name(a, charset)) for a in files)])


def build_message(mail: OutgoingMail) -> bytes:
    """Render an OutgoingMail to RFC 5322 bytes with CRLF line endings.

    Written by hand, not with email.generator: the generator and
    email.header.Header cost ~0.25 ms per mail, a tenth of the work process's
    time per incident (issue 2), for a message that is one text/plain part,
    or that part and the files it carries (_content). Every value from customer input goes through clean_header() (no CR/LF,
    so no header injection); long headers are folded.

    ISO-2022-JP is used only when every character fits it; Outlook's CP50220
    extras (①, ㈱, Ⅱ) do not, and such a mail falls back to UTF-8 rather than
    losing characters.
    """
    charset = mail.charset if mail.charset in _CODEC else "utf-8"
    if charset != "utf-8" and not all(
        _encodable(part, charset) for part in (mail.body, mail.subject, mail.from_name)
    ):
        charset = "utf-8"
    content, body = _content(mail, charset)
    utf8 = needs_smtputf8(mail)
    header = "utf-8" if utf8 else "ascii"
    to = [clean_header(address) for address in mail.to]
    head = [
        content,
        b"MIME-Version: 1.0\r\n",
        _fold("From", _address(mail.from_name, clean_header(mail.mail_from), charset), header),
        _fold("To", [f"{address}," for address in to[:-1]] + to[-1:], header),
        _text_header("Subject", mail.subject, charset),
        _fold("Date", [_date(mail.date)]),
        _fold("Message-ID", [f"<{clean_header(mail.message_id)}>"]),
    ]
    in_reply_to = _header_id(mail.in_reply_to, utf8)
    if in_reply_to:
        head.append(_fold("In-Reply-To", [f"<{in_reply_to}>"], header))
    references = [f"<{ref}>" for ref in (_header_id(r, utf8) for r in mail.references) if ref]
    if references:
        head.append(_fold("References", references, header))
    if mail.reply_to:
        head.append(_fold("Reply-To", [clean_header(mail.reply_to)], header))
    if mail.auto_submitted:  # a relayed human answer carries neither (issue 11), only our loop marker
        head += [_fold("Auto-Submitted", [mail.auto_submitted]),
                 b"X-Auto-Response-Suppress: All\r\n"]  # keep Exchange out-of-office replies away
    head += [
        _fold("X-Loop", [clean_header(mail.mail_from)], header),
        _fold(LOOP_HEADER, [clean_header(mail.loop_marker)]),
    ]
    return b"".join(head) + b"\r\n" + body
