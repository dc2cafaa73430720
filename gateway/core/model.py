"""Frozen values the core decides on and returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.core.severity_review import SeverityReview
from gateway.core.sla_model import ClockEvent
from parsers.model import BounceReport


@dataclass(frozen=True)
class Envelope:
    """The SMTP envelope (or what IMAP/CLI intake can say about it)."""

    mail_from: str  # "" for the null sender <>
    rcpt_tos: tuple[str, ...]


@dataclass(frozen=True)
class CustomerRef:
    """The customer a known contact belongs to, as the core needs it."""

    customer_id: int
    key: str
    name: str
    plan: str
    locale: str  # "ja" | "en"
    charset: str  # outbound body charset: "utf-8" | "iso-2022-jp"


@dataclass(frozen=True)
class Cue:
    """One piece of text that influenced the severity, kept so an operator can see why."""

    kind: str  # "requested-severity" | "severity-4" | "problem"
    rule: str  # stable rule name, e.g. "requested:severity-label", "how-to:en"
    matched: str  # the text that matched, as found
    where: str  # "subject" | "body"


@dataclass(frozen=True)
class SeverityAssessment:
    """Severity 3 or 4 by the mail rule (support-programs.md §1) plus what the customer asked for."""

    severity: int
    requested_severity: int | None
    cues: tuple[Cue, ...]

    @property
    def ask_phone(self) -> bool:
        """§1 note: for a requested severity 1 or 2 the customer should also phone."""
        return self.requested_severity in (1, 2)


class Action(StrEnum):
    OPEN_INCIDENT = "open-incident"
    CUSTOMER_REPLY = "customer-reply"  # a contact wrote into an open incident of their customer
    ENGINEER_REPLY = "engineer-reply"  # an engineer (From + reply token) answered: commands and relay
    COMMAND_ERROR = "command-error"  # the engineer is told what was wrong; nothing else happens
    IGNORE = "ignore"  # automatic mail: stored, never answered
    RECORD_BOUNCE = "record-bounce"  # a bounce of one of our letters: recorded on its incident, never answered
    HOLD = "hold"  # a human we cannot place: stored and listed for an operator


# Roles of a sender (support-programs.md §7; issue 4 "Roles and authorization").
CONTACT = "contact"  # an authorized contact of a customer
ENGINEER = "engineer"  # a configured engineer address or domain
UNKNOWN_AT_CUSTOMER = "unknown-at-customer"  # not a contact, but from a known customer's domain
STRANGER = "stranger"


@dataclass(frozen=True)
class Sender:
    role: str
    customer: CustomerRef | None = None  # the contact's customer, or the customer owning the domain
    contact_name: str = ""  # a contact's registered name (`customers add-contact --name`): salutations use it


# Sides and statuses (support-programs.md §2, §6).
VENDOR_SIDE = "vendor"
CUSTOMER_SIDE = "customer"
OPEN = "open"
RESOLVED = "resolved"
CLOSED = "closed"


@dataclass(frozen=True)
class IncidentState:
    """An existing incident as the core sees it: looked up by the shell, never written by the core."""

    id: int
    number: int
    customer_id: int
    customer_key: str
    plan: str
    subject: str
    status: str
    side: str
    severity: int
    assignee: str | None = None
    opened_by: str = ""
    last_customer_author: str = ""  # who of the customer wrote last: relays go to them
    customer_thread: tuple[str, ...] = ()  # Message-IDs of the customer's conversation, oldest first
    last_customer_message_id: str | None = None  # our answers are threaded to the customer's own mail
    customer_name: str = ""
    locale: str = "en"  # the customer's, for everything we write to them
    charset: str = "utf-8"
    escalation_level: int = 0  # customer escalations accepted so far (Kaspersky ladder)
    contact_name: str = ""  # the registered name of last_customer_author, for salutations ("" if none)
    # The incident's event log as the SLA clock reads it (issue 14): letters written on mail
    # (severity changed, escalations) show the clock's deadlines and side times, not "-".
    clock_log: tuple[ClockEvent, ...] = field(default=(), repr=False, compare=False)
    # What the engineers' notice shows (issue 11): what the customer asked for and why, and the deadline.
    requested_severity: int | None = None
    cues: tuple[dict[str, str], ...] = ()  # the opening assessment's cues (kind, rule, matched, where)
    opened_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"INC-{self.number:06d}"

    @property
    def version(self) -> tuple[str, str, int, str | None]:
        """What a decision was based on; the writer re-checks it (optimistic concurrency)."""
        return (self.status, self.side, self.severity, self.assignee)

    @property
    def is_finished(self) -> bool:
        return self.status in (RESOLVED, CLOSED)


@dataclass(frozen=True)
class Clues:
    """Everything in a mail that may place it in an incident, strongest layer first (issue 4)."""

    message_ids: tuple[str, ...] = ()  # In-Reply-To, then References newest first
    address_refs: tuple[tuple[int, str | None], ...] = ()  # support+INC-000123[.token]@ recipients
    body_refs: tuple[tuple[int, str], ...] = ()  # INC-000123.token in the body
    subject_refs: tuple[int, ...] = ()  # [INC-000123] in the subject
    # (number, token, layer) of the engineer form INC-000123.e.token: recipients first, then the body
    engineer_refs: tuple[tuple[int, str, str], ...] = ()


@dataclass(frozen=True)
class AuthVerdict:
    """What proves, or fails to prove, who sent a mail: one method's result for one domain (RFC 8601 §2.7).

    Made by the shell (gateway.work.authentication) from trusted Authentication-Results or its
    own DKIM check; judged by gateway.core.authenticity. Only an aligned pass proves the From domain.
    """

    method: str  # "dkim" | "dmarc" | "spf" | "none"
    result: str  # RFC 8601 §2.7 result: "pass", "fail", "neutral", "none", "temperror", "permerror", ...
    domain: str = ""  # what the result is for: DKIM d=, DMARC header.from, SPF smtp.mailfrom's domain
    detail: str = ""  # why, in words: "body hash mismatch", "no key at s1._domainkey.example.test"
    by: str = ""  # who says so: a trusted authserv-id, or "gateway" (our own DKIM check)
    aligned: bool = False  # `domain` is the From domain, a parent or a child of it (RFC 7489 §3.1.1)

    @property
    def passed(self) -> bool:
        return self.result == "pass" and self.aligned


@dataclass(frozen=True)
class Context:
    """What the shell looked up for one mail before deciding."""

    sender: Sender
    clues: Clues = Clues()
    by_message_id: Mapping[str, int] = field(default_factory=dict)  # Message-ID → incident number
    incidents: Mapping[int, IncidentState] = field(default_factory=dict)  # by number
    authentication: AuthVerdict | None = None  # None: [authentication] is not configured
    # Of the Message-IDs a bounce quotes, those of letters we sent (outbox), and the hard
    # bounces each failed recipient has had so far (issue 13: N hard bounces stop automatic mail).
    sent_message_ids: frozenset[str] = frozenset()
    hard_bounces: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One incident event to append (type and data as stored in incident_events)."""

    type: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class SplitItem:
    """One problem listed after #split: it becomes an incident of its own (support-programs.md §1)."""

    text: str
    assessment: SeverityAssessment


@dataclass(frozen=True)
class EngineerReply:
    """What an engineer's reply does besides the incident's new state and events."""

    relay_text: str | None  # sent to the customer (None: nothing relayed)
    internal_text: str  # kept in the incident only (#note, #waiting, #split bodies)
    severity_change: tuple[int, int, str] | None = None  # (from, to, reason): the customer is told
    resolution: str | None = None  # §6 reason: the customer is told, with relay_text if any
    splits: tuple[SplitItem, ...] = ()
    commands: tuple[str, ...] = ()
    command_lines: tuple[str, ...] = ()  # the command lines as written, for the engineer's confirmation
    note_text: str = ""  # a #note's text: copied to the engineers' queue, never to the customer
    reopened: bool = False  # #reopen: a resolved incident is open again (vendor side)
    reopen_reason: str = ""
    severity_without_reason: bool = False  # `#severity N` alone: the confirmation asks for a reason
    status_text: str = ""  # a #status text (issue 14): kept for the next status report, nothing sent now


@dataclass(frozen=True)
class CustomerEscalation:
    """A customer's `#escalate` (gateway.core.escalation): one level up, or refused and why."""

    accepted: bool
    level: int  # 1-based level reached (accepted) or current level (refused)
    rung: str  # the rung now responsible ("" if none yet)
    levels: int
    reason: str = ""  # why it was refused


@dataclass(frozen=True)
class Decision:
    """What to do with one parsed inbound mail."""

    action: Action
    reason: str  # a code from gateway.codes
    customer: CustomerRef | None = None
    assessment: SeverityAssessment | None = None
    incident: IncidentState | None = None  # the incident the mail belongs to, as it was before it
    after: IncidentState | None = None  # the same incident after this mail
    events: tuple[Event, ...] = ()
    threaded_by: str | None = None  # which threading layer placed the mail
    linked_to: IncidentState | None = None  # recurrence: the resolved incident a new one is linked to
    engineer: EngineerReply | None = None
    errors: tuple[str, ...] = ()  # command errors, explained to the engineer
    # COMMAND_ERROR: the well-formed command lines that were therefore not applied, and whether the
    # reply used any command at all (the letter is titled for what happened, issue 11).
    not_applied: tuple[str, ...] = ()
    command_used: bool = False
    held_reply: bool = False  # send the polite "who may open incidents" reply
    text: str = ""  # the mail's own text (quoted history and signature removed)
    contact_name: str = ""  # the writing contact's registered name (the acknowledgement greets them by it)
    customer_escalation: CustomerEscalation | None = None  # the customer asked to escalate (Kaspersky)
    severity_review: SeverityReview | None = None  # the customer asked to review the severity (Sophos §5.4)
    authentication: AuthVerdict | None = None  # shown to engineers in the notice of a customer's mail
    detail: str = ""  # why a mail is held, in words for the operator's inbound row (default: the reason and the sender)
    queue_line: bool = False  # tell the engineers' queue in one line that this reply was held, and why
    automatic: str | None = None  # why the mail is automatic (gateway.codes), even when it is still taken
    # List/bulk mail from a contact, or an accepted sender's notification: taken as an incident but never
    # answered (RFC 3834 §2); the code says why, and the engineers' notice says so.
    quiet: str | None = None
    bounce: BounceReport | None = None  # RECORD_BOUNCE: what the bounce says
    bounced_message_id: str | None = None  # RECORD_BOUNCE: which letter of ours bounced
    suppress: tuple[str, ...] = ()  # addresses this bounce brings to the hard-bounce limit

    @property
    def new_incidents(self) -> int:
        """How many incident numbers this decision needs."""
        if self.action is Action.OPEN_INCIDENT:
            return 1
        return len(self.engineer.splits) if self.engineer else 0
