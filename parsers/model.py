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
class FailedRecipient:
    """One recipient a bounce says our mail did not reach (RFC 3464 §2.3 fields where known)."""

    address: str
    status: str | None = None  # RFC 3463 enhanced status, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's words, e.g. "550 5.1.1 User unknown"
    hard: bool = True  # a permanent failure (5.x.x); False for delays and warnings (4.x.x)


@dataclass(frozen=True)
class BounceReport:
    """What a recognised bounce says (parsers.bounces): who failed, why, and which mail of ours it returns.

    `kind` names how it was recognised: "dsn" (RFC 3464), "flufl" (flufl.bounce's
    detectors), "ses" (Amazon SES via SNS), "complaint" (an abuse report), "loop-alert"
    (a list manager refusing a looped mail), "text" (the wording of a bounce, Japanese
    carriers included). `original_message_ids` are the Message-IDs of the returned mail,
    from its returned headers, the JSON of an SES notice, or In-Reply-To/References.
    """

    kind: str
    recipients: tuple[FailedRecipient, ...] = ()
    original_message_ids: tuple[str, ...] = ()

    @property
    def hard(self) -> bool:
        return any(r.hard for r in self.recipients)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one mail may make the parser do (settings `[mail]`); over one: UnparseableMail.

    None means no bound beyond the parser's own safety nets.
    """

    max_header_fields: int | None = None
    max_header_bytes: int | None = None
    max_mime_depth: int | None = None
    max_parts: int | None = None
    max_attachments: int | None = None


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
    # Where from_addr came from: "from", "from-recovered" (a lone address in a broken From),
    # "reply-to" or "sender" (issue 13: no usable From; the defect says so too), or "none".
    from_source: str = "from"
    from_display: str = ""  # the From field as written (decoded) when it gave no mailbox: shown instead
    bounce: BounceReport | None = None  # a recognised bounce, DSN or not (parsers.bounces)

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
