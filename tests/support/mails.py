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


def postfix_dsn(returned_message_id: str, recipient: str = "alice@example.test",
                subject: str = "[INC-000001] ack") -> bytes:
    """A Postfix DSN (RFC 3464) returning one of our letters, its headers included."""
    return (
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\nTo: support@support.example.test\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn.{returned_message_id}>\r\n"
        "Date: Fri, 20 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-replied\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@support.example.test\r\n"
        f"To: {recipient}\r\nMessage-ID: <{returned_message_id}>\r\nSubject: {subject}\r\n\r\n--B--\r\n"
    ).encode()
