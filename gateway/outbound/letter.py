"""A Letter: a plain description of one mail to write — who gets what about which incident.

The modules that decide which letters an event causes (gateway.outbound.letters
for mail, gateway.outbound.notices for the SLA clock) return Letters and nothing
else; gateway.outbound.compose renders one into the rows that record and send it.
The helpers here are the wording every letter shares: times in the plan's zone,
spans of time, the TAM copy rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.app import App
from gateway.codes import RATE_LIMITED
from gateway.core.plan import Plan
from gateway.outbound.mime_parts import OutgoingAttachment

# IncidentMessage directions: to the customer, to the engineers' queue, internal (escalations, errors).
TO_CUSTOMER, TO_QUEUE, INTERNAL = "out", "notify", "internal"


@dataclass(frozen=True)
class OverLimit:
    """Why an automatic letter was not sent: the limit `count` in `window` for `key` was reached."""

    kind: str
    to: str
    count: int
    window: timedelta
    scope: str  # "recipient" | "incident" | "domain"
    key: str  # the recipient, the incident's ref or the domain

    def rule(self, locale: str) -> str:
        """'10 in 10 min for alice@example.test' / 'alice@example.test 宛て 10分以内に10通'."""
        if locale == "ja":
            return f"{self.key} 宛て {window_text(self.window, locale)}以内に{self.count}通"
        return f"{self.count} in {window_text(self.window, locale)} for {self.key}"

    def event_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "to": [self.to], "reason": RATE_LIMITED, "limit": self.rule("en")}


def window_text(span: timedelta, locale: str) -> str:
    """'10 min', '1 h', '1 h 30 min', '24 h' (or 10分, 1時間, 1時間30分)."""
    hours, minutes = divmod(int(span.total_seconds() // 60), 60)
    if locale == "ja":
        return (f"{hours}時間" if hours else "") + (f"{minutes}分" if minutes or not hours else "")
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if part)


@dataclass(frozen=True)
class Letter:
    kind: str  # gateway.codes KIND_*
    purpose: str  # the template name
    locale: str
    charset: str
    to: tuple[str, ...]
    number: int | None  # the incident it is about (None: no incident, no token)
    direction: str  # TO_CUSTOMER, TO_QUEUE or INTERNAL
    context: dict[str, Any] = field(default_factory=dict)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    dedupe_key: str | None = None
    event_data: dict[str, Any] = field(default_factory=dict)  # e.g. the SLA clock's key of the notice
    customer_key: str | None = None  # whose incident: on the TAM plan their TAM is copied (compose.write)
    # A "notice" event records the letter on the incident's timeline (the SLA clock reads them);
    # a command error is between the gateway and one engineer and changes nothing, so it is not logged.
    logged: bool = True
    # Set by the rate limits (gateway.outbound.limits): the letter is not written, the reason is recorded.
    not_sent: OverLimit | None = None
    # A person's words (a relayed answer): sent without Auto-Submitted and X-Auto-Response-Suppress, so the
    # customer's own rules do not file it as machine mail (issue 11); our loop marker stays.
    human: bool = False
    attachments: tuple[OutgoingAttachment, ...] = ()  # files carried byte for byte (issue 11)
    message_id: str | None = None  # the first copy's Message-ID if it must be this one (an engineer thread's root)


def thread_of(message_id: str | None, references: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for an answer to `message_id` (RFC 5322 §3.6.4)."""
    if not message_id:
        return None, references
    return message_id, (*references, message_id) if message_id not in references else references


def tam_copies(app: App, customer_key: str | None) -> tuple[str, ...]:
    """seeds/000 §4.1: on a plan that copies the TAM, the customer's TAM gets every notice."""
    customer = next((c for c in app.settings.customers if c.key == customer_key), None)
    if customer is None or not customer.tam or customer.plan not in app.plans.plans:
        return ()
    return (customer.tam,) if app.plans.get(customer.plan).copy_tam_on_notices else ()


def customer_tam(app: App, customer_key: str | None) -> tuple[str, ...]:
    """The customer's TAM whatever the plan (the `tam` escalation rung goes to them)."""
    customer = next((c for c in app.settings.customers if c.key == customer_key), None)
    return (customer.tam,) if customer is not None and customer.tam else ()


def local_time(plan: Plan, at: datetime | None) -> str:
    """'2026-11-30 12:30 JST' in the plan calendar's zone: a Japanese desk reads JST."""
    if at is None:
        return "-"
    return at.astimezone(ZoneInfo(plan.calendar.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def span_text(amount: timedelta, locale: str) -> str:
    """'3 h 20 min' / '3時間20分', '7 d' / '7日', '2 h 30 min' / '2時間30分'; zero parts left out (issue 14)."""
    minutes = int(amount.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if locale == "ja":
        units = ((days, "日"), (hours, "時間"), (mins, "分"))
        return "".join(f"{value}{unit}" for value, unit in units if value) or "0分"
    units = ((days, "d"), (hours, "h"), (mins, "min"))
    return " ".join(f"{value} {unit}" for value, unit in units if value) or "0 min"
