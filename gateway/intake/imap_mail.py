"""What IMAP intake can say about a mail's envelope, from its header alone.

IMAP has no SMTP envelope. The final delivery wrote the envelope sender into
Return-Path (RFC 5321 §4.4), so that is MAIL FROM when present — `<>` stays the
null sender, which keeps bounces out of the incident flow — and From otherwise.
The recipient is the mailbox's own address when the login is one, else the
To/Cc addresses. Only the header is parsed here (stdlib, no mail-parser: the
processor parses the whole mail once, later).
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from gateway.core.model import Envelope

_HEADER_END = re.compile(rb"\r?\n\r?\n")

# When the header names no sender at all. Not "": that is the null sender <>, which marks
# bounces, and a human mail with a mangled From must not be ignored as one. `.invalid`
# (RFC 2606) can never be a real address, so nothing is ever sent to it.
UNKNOWN_SENDER = "unknown-sender@imap.invalid"


def header_bytes(raw: bytes) -> bytes:
    """The header block of a raw mail (everything before the first empty line)."""
    match = _HEADER_END.search(raw)
    return raw[: match.end()] if match else raw


def _headers(raw: bytes):  # type: ignore[no-untyped-def] - email.message.Message
    return BytesHeaderParser(policy=compat32).parsebytes(header_bytes(raw))


def _addresses(values: list[str]) -> list[str]:
    return [address for _name, address in getaddresses([str(v) for v in values]) if "@" in address]


def describe(raw: bytes, mailbox_user: str) -> tuple[Envelope, str | None]:
    """The envelope and the Message-ID, from one parse of the header."""
    try:
        headers = _headers(raw)
    except Exception:  # noqa: BLE001 - a mangled header must not stop intake; the processor judges it
        return Envelope(UNKNOWN_SENDER, (mailbox_user,) if "@" in mailbox_user else ()), None
    return _envelope(headers, mailbox_user), _message_id(headers)


def _envelope(headers, mailbox_user: str) -> Envelope:  # type: ignore[no-untyped-def]
    """MAIL FROM from Return-Path (else From); RCPT the mailbox address (else To/Cc)."""
    try:
        return_path = [str(v).strip() for v in headers.get_all("Return-Path") or []]
        if return_path and return_path[0] == "<>":
            sender = ""  # the null sender: a bounce or an auto-reply (RFC 5321 §4.5.5)
        else:
            found = _addresses(return_path[:1]) or _addresses(headers.get_all("From") or [])
            sender = found[0] if found else UNKNOWN_SENDER
        if "@" in mailbox_user:
            rcpts: tuple[str, ...] = (mailbox_user.lower(),)
        else:
            rcpts = tuple(a.lower() for a in _addresses((headers.get_all("To") or []) + (headers.get_all("Cc") or [])))
        return Envelope(sender, rcpts)
    except Exception:  # noqa: BLE001
        return Envelope(UNKNOWN_SENDER, (mailbox_user,) if "@" in mailbox_user else ())


def _message_id(headers) -> str | None:  # type: ignore[no-untyped-def]
    """The Message-ID as written (angle brackets kept), or None; used to recognise re-appended mail."""
    try:
        value = headers.get("Message-ID")
    except Exception:  # noqa: BLE001
        return None
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:998] or None
