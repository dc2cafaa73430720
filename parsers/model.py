"""Frozen values produced by the parser: no mail-parser object ever leaks out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    """One attachment (or inline non-text part), decoded to bytes."""

    filename: str | None
    content_type: str
    payload: bytes = field(repr=False)
    sha256: str
    content_id: str | None = None
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass(frozen=True)
class ParsedMail:
    """What the gateway needs to know about one mail.

    Addresses are bare addr-specs, lower-cased. Message-IDs are bare (no angle
    brackets). `headers` maps lower-cased header names to every decoded value
    of that header, in order, so rules can look at Auto-Submitted, Precedence,
    List-Id, X-Loop... without the parser knowing about them.
    """

    from_addr: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    body_text: str
    body_source: str  # "plain" | "html" | "none"
    attachments: tuple[Attachment, ...]
    content_type: str  # top-level, lower-case, e.g. "multipart/report"
    report_type: str | None  # the report-type parameter of multipart/report, lower-case
    headers: dict[str, tuple[str, ...]] = field(repr=False)
    defects: tuple[str, ...] = ()
    # How many authors the From header(s) name (issue 10): `from_addr` is the first mailbox of the
    # first From field, and means nothing on its own unless there is exactly one field with one
    # mailbox. The defaults say "none", so a ParsedMail built without them never passes for one author.
    from_mailboxes: tuple[str, ...] = ()  # every mailbox of every From field, in order, de-duplicated
    from_headers: int = 0  # From header fields (RFC 5322 §3.6: exactly one)
    from_group: bool = False  # a From written as a group, "team: a@b;" (RFC 6854)
    sender_addr: str = ""  # the Sender field's mailbox (RFC 5322 §3.6.2), "" if none

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


class UnparseableMail(Exception):
    """The bytes cannot be turned into a ParsedMail; `code` is stored as the quarantine reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
