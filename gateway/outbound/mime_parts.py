"""Attachments of outgoing mail: safe filenames, RFC 2231 parameters, the MIME parts themselves.

Split from gateway.outbound.mime (which builds the whole message) so each stays
small. What arrives here comes from mail people wrote (a customer's log file, an
engineer's PDF), so every name is cleaned before it is written: no path
(`../../etc/passwd`), no NUL or control characters, no bidi overrides that make
`invoice‮fdp.exe` read as a PDF, no absurd length, no name Windows refuses.

Non-ASCII filenames are written twice, as mail clients read them:
`filename*=utf-8''…` on Content-Disposition per RFC 2231 §4 (UTF-8, the charset
RFC 6266 §4.3 / RFC 8187 ask for and every modern client decodes), and the
legacy `name="=?…?="` on Content-Type in the customer's header charset
(ISO-2022-JP for customers whose Japanese mail clients read only that form).
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass, field

MAX_FILENAME = 150  # characters; longer names are shortened, the extension kept
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_ATTR_CHAR = re.compile(rb"[A-Za-z0-9!#$&+.^_`|~-]")  # RFC 2231 §7 attribute-char (RFC 5987 attr-char)
_CONTENT_ID = re.compile(r"^[\x21-\x7e]{1,250}$")


@dataclass(frozen=True)
class OutgoingAttachment:
    """One file carried by an outgoing mail, byte for byte as it was received."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None  # bare; an inline image an HTML part refers to as cid:…
    inline: bool = False
    sha256: str | None = None  # its blob in the store (attachment_blobs), so the letter's record names it


def clean_filename(name: str | None, content_type: str = "application/octet-stream") -> str:
    """A filename safe to write and to save: the last path segment, no controls, bounded, never empty.

    `../../etc/passwd` becomes `passwd`, `C:\\x\\evil.exe` `evil.exe`, a NUL or a
    bidi override disappears, `.htaccess` loses its leading dot (no hidden file),
    and a name over MAX_FILENAME characters is cut before its extension.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = _UNSAFE.sub("", text)
    text = re.split(r"[/\\]", text)[-1]
    text = _WINDOWS_FORBIDDEN.sub("_", text).strip().strip(".").strip()
    if not text:
        text = "attachment" + (mimetypes.guess_extension(clean_content_type(content_type)) or ".bin")
    if _WINDOWS_RESERVED.match(text):
        text = "_" + text
    if len(text) > MAX_FILENAME:
        stem, ext = os.path.splitext(text)
        ext = ext if len(ext) <= 16 else ""
        text = stem[:MAX_FILENAME - len(ext)].rstrip(". ") + ext
    return text


def clean_content_type(value: str) -> str:
    """`type/subtype` lower-cased if it is one (RFC 2045 §5.1 tokens), else application/octet-stream."""
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def _percent(data: bytes) -> str:
    return "".join(chr(b) if _ATTR_CHAR.match(bytes([b])) else f"%{b:02X}" for b in data)


def rfc2231_tokens(attribute: str, value: str, room: int = 50) -> list[str]:
    """`filename="x.pdf"` for a plain ASCII name, else `filename*0*=utf-8''%E3…;` continuations (RFC 2231 §3-4).

    Each continuation is whole percent-escapes, at most `room` characters, so a
    header line stays within RFC 5322's 78 characters; the last token has no `;`.
    """
    if value.isascii() and '"' not in value and "\\" not in value and len(value) <= room:
        return [f'{attribute}="{value}"']
    escaped = _percent(value.encode("utf-8"))
    pieces, start = [], 0
    while start < len(escaped):
        end = min(start + room, len(escaped))
        while end < len(escaped) and "%" in escaped[end - 2:end]:  # never split a %XX
            end -= 1
        pieces.append(escaped[start:end])
        start = end
    if len(pieces) == 1:
        return [f"{attribute}*=utf-8''{pieces[0]}"]
    tokens = [f"{attribute}*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{piece};" for i, piece in enumerate(pieces)]
    tokens[-1] = tokens[-1][:-1]
    return tokens


def clean_content_id(value: str | None) -> str:
    """A bare Content-ID (RFC 2392 §2) safe to write, or "" if it is not one."""
    cleaned = (value or "").strip().strip("<>")
    return cleaned if _CONTENT_ID.match(cleaned) and not re.search(r"[<>\"]", cleaned) else ""


def shown_inline(attachment: OutgoingAttachment) -> bool:
    """An image an HTML part shows by cid: stays inline (RFC 2183 §2.1, RFC 2392), not a download.

    Only images: Outlook gives every attachment a Content-ID, and a PDF must
    still arrive as a file to save.
    """
    is_image = clean_content_type(attachment.content_type).startswith("image/")
    return attachment.inline or (is_image and bool(clean_content_id(attachment.content_id)))


def html_with_images(text: str, images: list[OutgoingAttachment]) -> str:
    """The letter's text as HTML, the inline images after it by `cid:` (so they show where HTML is read).

    Our letters are plain text; the engineer's own HTML is never relayed (it
    holds the quoted notice with its engineer token). The text is escaped and
    kept as written (<pre>, wrapped), each image shown once below it.
    """
    body = html.escape(text.replace("\r\n", "\n"))
    tags = "".join(f'<p><img src="cid:{html.escape(clean_content_id(i.content_id))}" '
                   f'alt="{html.escape(_ascii_or(clean_filename(i.filename, i.content_type), "image"))}"></p>\n'
                   for i in images)
    # A newline right after <pre> is dropped by HTML parsers, so the text starts on a line of its own.
    return ('<!DOCTYPE html>\n<html><body>\n<pre style="white-space: pre-wrap; font-family: sans-serif">\n'
            f"{body}</pre>\n{tags}</body></html>\n")


def _ascii_or(text: str, fallback: str) -> str:
    """`text` if ASCII (then any charset encodes it, ISO-2022-JP included), else `fallback`."""
    return text if text.isascii() else fallback


def attachment_part(attachment: OutgoingAttachment, legacy_name: list[str]) -> bytes:
    """One body part: Content-Type with `name`, Content-Disposition with RFC 2231 `filename`, base64 data.

    `legacy_name` is the Content-Type `name=` value, already encoded in the
    customer's header charset by the caller (gateway.outbound.mime). An inline
    part keeps its Content-ID, so an HTML part's `cid:` reference still finds it.
    """
    filename = clean_filename(attachment.filename, attachment.content_type)
    content_type = clean_content_type(attachment.content_type)
    content_id = clean_content_id(attachment.content_id)
    disposition = "inline" if shown_inline(attachment) else "attachment"
    lines = [_folded(f"Content-Type: {content_type};", legacy_name),
             _folded(f"Content-Disposition: {disposition};", rfc2231_tokens("filename", filename)),
             "Content-Transfer-Encoding: base64"]
    if content_id:
        lines.append(f"Content-ID: <{content_id}>")
    head = "\r\n".join(lines).encode("ascii") + b"\r\n\r\n"
    return head + base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")


def _folded(first: str, tokens: list[str]) -> str:
    """`first` then the parameter tokens, each on its own continuation line (CRLF + space)."""
    return "\r\n ".join([first, *tokens])


def multipart(subtype: str, parts: list[bytes], *, extra: str = "") -> tuple[bytes, bytes]:  # extra: ";\r\n a=b"
    """(Content-Type header line, body) of a multipart (RFC 2046 §5.1) whose parts carry their own headers.

    The boundary is random and starts with "=_", which never occurs in base64
    or 7-bit ISO-2022-JP text, so no part can contain it.
    """
    boundary = f"=_gw_{os.urandom(12).hex()}"
    delimiter = f"--{boundary}\r\n".encode("ascii")
    pieces = [b"This is a multi-part message in MIME format.\r\n\r\n"]
    for index, part in enumerate(parts):  # joined once: a mail of many files is not copied once per file
        pieces += [b"\r\n" if index else b"", delimiter, part]
    pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    header = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"{extra}\r\n'.encode("ascii")
    return header, b"".join(pieces)
