"""Frozen values the core decides on and returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    IGNORE = "ignore"  # automatic mail: stored, never answered
    HOLD = "hold"  # a human we cannot place: stored and listed for an operator


@dataclass(frozen=True)
class Decision:
    """What to do with one parsed inbound mail."""

    action: Action
    reason: str  # a code from gateway.codes
    customer: CustomerRef | None = None
    assessment: SeverityAssessment | None = None
