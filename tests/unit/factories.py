"""Build parsed mails and envelopes for unit tests, with sensible defaults.

Tests build `ParsedMail` values directly so the core can be tested without the
parser. Override any field by keyword; `headers` may be given as a plain dict of
`name -> value` or `name -> tuple of values`, in any case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.core.model import Envelope
from parsers.model import ParsedMail

CUSTOMER_ADDRESS = "tanaka@customer.example"
SUPPORT_ADDRESS = "support@vendor.example"

_DEFAULTS: dict[str, Any] = {
    "from_addr": CUSTOMER_ADDRESS,
    "from_name": "田中 太郎",
    "to": (SUPPORT_ADDRESS,),
    "cc": (),
    "reply_to": (),
    "subject": "ライセンスの更新について",
    "message_id": "20240401093000.1234@customer.example",
    "in_reply_to": (),
    "references": (),
    "date": datetime(2024, 4, 1, 0, 30, tzinfo=UTC),
    "body_text": "いつもお世話になっております。\n株式会社カスタマーの田中です。\n",
    "body_source": "plain",
    "attachments": (),
    "content_type": "text/plain",
    "report_type": None,
    "defects": (),
}


def _headers(headers: Mapping[str, str | tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Lower-cased names, every value a tuple, as the parser delivers them."""
    return {
        name.lower(): (value,) if isinstance(value, str) else tuple(value)
        for name, value in headers.items()
    }


def make_mail(**overrides: Any) -> ParsedMail:
    """A plain human mail from a customer to the support desk, with `overrides` applied."""
    fields = {**_DEFAULTS, **overrides}
    fields["headers"] = _headers(overrides.get("headers", {}))
    fields.setdefault("from_mailboxes", (fields["from_addr"],) if fields["from_addr"] else ())
    fields.setdefault("from_headers", 1 if fields["from_addr"] else 0)
    return ParsedMail(**fields)


def make_envelope(mail_from: str = CUSTOMER_ADDRESS, *rcpt_tos: str) -> Envelope:
    """An SMTP envelope; `mail_from=""` is the null sender <>."""
    return Envelope(mail_from=mail_from, rcpt_tos=rcpt_tos or (SUPPORT_ADDRESS,))
