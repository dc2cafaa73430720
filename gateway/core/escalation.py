"""Customer-initiated escalation (Kaspersky, seeds/002 §3 "quality control"). Pure.

Asked for by a line `#escalate` / `エスカレーション…` in the customer's own text, in
the subject, or by writing to the dedicated address `support+escalate@…`.

The customer may escalate an unresolved incident while it is on the vendor
side: each request moves it one level up the plan's ladder (tam → support-lead
→ account-manager). While the incident waits for the customer it is refused
with an explanation; the side is judged as it was *before* the customer's
message (which itself hands the incident back to the vendor).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from datetime import datetime

from gateway.core.business_time import window
from gateway.core.model import VENDOR_SIDE, CustomerEscalation, Event, IncidentState
from gateway.core.plan import Plan
from parsers.subject import fold_width

# A line that starts with "#escalate", "#エスカレーション" or "エスカレーション…" (e.g. "エスカレーションを希望します").
_ASK = re.compile(r"^(?:#\s*(?:escalate|エスカレーション|エスカレート)(?:\s|$)|エスカレーション)", re.IGNORECASE)
_ASK_IN_SUBJECT = re.compile(r"#\s*(?:escalate|エスカレーション|エスカレート)(?:\s|$)", re.IGNORECASE)
_MAY_ASK = re.compile("[#＃]|エスカレ")
ESCALATE_DETAIL = "escalate"  # support+escalate@…: the dedicated escalate address
REFUSED_CUSTOMER_SIDE = "customer-side"
REFUSED_TOP = "top-of-ladder"


def asks_to_escalate(subject: str, text: str) -> bool:
    """Whether the customer's own text (quotes removed) or subject asks for an escalation."""
    if _ASK_IN_SUBJECT.search(fold_width(subject)):
        return True
    if not _MAY_ASK.search(text):  # nearly every mail: no line can match, skip the line scan
        return False
    return any(_ASK.match(fold_width(line).strip()) for line in text.split("\n"))


def says_more_than_escalate(text: str) -> bool:
    """Whether the customer wrote anything besides the escalation request itself (issue 14).

    support-programs.md §2: the incident moves to the vendor side when the
    customer provides what was asked; a mail that only says `#escalate` provides
    nothing, so the side stays as it was.
    """
    return any(line.strip() and not _ASK.match(fold_width(line).strip()) for line in text.split("\n"))


def escalate_address_used(recipients: tuple[str, ...], own_addresses: frozenset[str]) -> bool:
    """A mail to the dedicated escalate address, `support+escalate@…` of one of our addresses."""
    for address in recipients:
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        base, plus, detail = local.partition("+")
        if plus and detail == ESCALATE_DETAIL and f"{base}@{domain}" in own_addresses:
            return True
    return False


def escalate(before: IncidentState, ladder: tuple[str, ...], author: str
             ) -> tuple[tuple[Event, ...], CustomerEscalation]:
    """One step up the ladder, or a refusal with its reason, and the event that records it."""
    level = before.escalation_level
    current = ladder[level - 1] if 0 < level <= len(ladder) else ""
    if before.side != VENDOR_SIDE:
        outcome = CustomerEscalation(False, level, current, len(ladder), REFUSED_CUSTOMER_SIDE)
    elif level >= len(ladder):
        outcome = CustomerEscalation(False, level, current, len(ladder), REFUSED_TOP)
    else:
        outcome = CustomerEscalation(True, level + 1, ladder[level], len(ladder))
    if outcome.accepted:
        event = Event("escalated", {"by": "customer", "author": author, "level": outcome.level,
                                    "rung": outcome.rung})
    else:
        event = Event("escalation-refused", {"by": "customer", "author": author, "reason": outcome.reason})
    return (event,), outcome


def on_duty_instead(plan: Plan, rung: str, at: datetime | None) -> str | None:
    """The on-duty rung that takes `rung`'s notice at `at`, when the rung's person is off then (seeds/002 §3)."""
    off = plan.off_hours
    calendar = off.calendar_of(rung) if off is not None else None
    if off is None or calendar is None or at is None:
        return None
    hours = window(calendar, at.astimezone(ZoneInfo(calendar.timezone)).date())
    return None if hours is not None and hours[0] <= at < hours[1] else off.on_duty
