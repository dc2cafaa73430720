"""Outgoing mail as bytes: safe headers, our Message-ID, loop markers, Japanese encodings.

Uses the compat32 email API on purpose: it lets us pick the header charset per
customer (ISO-2022-JP encoded-words for customers whose mail systems want them)
where the modern API always writes UTF-8.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from datetime import datetime
from email.policy import Compat32
from email.header import Header
from email.mime.text import MIMEText
from email.utils import format_datetime

from gateway.codes import LOOP_HEADER

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


class _Policy(Compat32):
    """compat32 with CRLF, writing short ASCII headers as they are.

    The stock policy folds every header through email.header.Header, ~50 µs
    each; for a value that already fits one line that work changes nothing.
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isascii() and len(name) + len(value) + 2 <= 78 \
                and not _CONTROL.search(value):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[no-any-return]


_SMTP = _Policy(linesep="\r\n")


def clean_header(value: str, limit: int = 900) -> str:
    """Make customer input safe as a header value: no CR/LF (no header injection), no controls."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message_id(domain: str) -> str:
    """A bare Message-ID of our own, recognisable as ours by its `gw.` prefix."""
    return f"gw.{uuid.uuid4().hex}@{domain}"


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
    auto_submitted: str = "auto-replied"  # RFC 3834 §5: auto-replied | auto-generated | no
    loop_marker: str = "support-gateway"
    reply_to: str | None = None


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode("iso2022_jp" if charset == "iso-2022-jp" else charset)
    except UnicodeEncodeError:
        return False
    return True


def _header(value: str, charset: str) -> Header | str:
    value = clean_header(value)
    if value.isascii():
        return value
    return Header(value, charset)


def _address(name: str, address: str, charset: str) -> str:
    name = clean_header(name).replace('"', "'")
    if not name:
        return address
    if name.isascii():
        return f'"{name}" <{address}>'
    return f"{Header(name, charset).encode()} <{address}>"


def build_message(mail: OutgoingMail) -> bytes:
    """Render an OutgoingMail to RFC 5322 bytes with CRLF line endings.

    ISO-2022-JP is used only when every character fits it; Outlook's CP50220
    extras (①, ㈱, Ⅱ) do not, and such a mail falls back to UTF-8 rather than
    losing characters.
    """
    charset = mail.charset
    if charset != "utf-8" and not all(
        _encodable(part, charset) for part in (mail.body, mail.subject, mail.from_name)
    ):
        charset = "utf-8"
    message = MIMEText(mail.body, "plain", "iso-2022-jp" if charset == "iso-2022-jp" else "utf-8")
    message["From"] = _address(mail.from_name, mail.mail_from, charset)
    message["To"] = ", ".join(mail.to)
    message["Subject"] = _header(mail.subject, charset)
    message["Date"] = format_datetime(mail.date)
    message["Message-ID"] = f"<{mail.message_id}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{clean_header(mail.in_reply_to)}>"
    references = [clean_header(ref) for ref in mail.references if ref]
    if references:
        message["References"] = " ".join(f"<{ref}>" for ref in references)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Auto-Submitted"] = mail.auto_submitted
    message["X-Auto-Response-Suppress"] = "All"  # keep Exchange out-of-office replies away
    message["X-Loop"] = mail.mail_from
    message[LOOP_HEADER] = clean_header(mail.loop_marker)
    return message.as_bytes(policy=_SMTP)
