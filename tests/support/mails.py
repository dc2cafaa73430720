"""Builders for realistic customer mails as raw bytes."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone


def customer_mail(
    *,
    sender: str = "alice@example.test",
    to: str = "support@support.example.test",
    subject: str = "Server stops every night",
    body: str = "Our server stops every night at 02:00 with error 0x80070005.\n",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    charset: str = "utf-8",
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice Example <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain="example.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body, charset=charset)
    return message.as_bytes(policy=policy.SMTP)  # CRLF, as an MTA sends it
