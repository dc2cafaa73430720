"""The SLA clock's vocabulary: its event input, its due items, its reading (support-programs.md §2–§5).

Plain values shared by the clock (gateway.core.sla), the scheduler, letters and
reports; kept apart so the clock module holds only the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.core.business_time import ZERO, elapsed
from gateway.core.plan import Calendar

OPEN = "open"
VENDOR = "vendor"
CUSTOMER = "customer"

# Kinds of due items (also the notice kinds where one is sent).
RESPONSE = "response"
LATE_KEY = "response-late::0"  # the key of the event recording a late first response (met_at, late_by)
STATUS = "status"
ESCALATION = "escalation"
DOWNGRADE = "downgrade"
REMINDER = "reminder"
TIMEOUT = "timeout"
DOWNGRADE_REASON = "@downgrade"  # templates explain it in the customer's language

# What meets the response target (plan.response_met_by).
MET_BY_REPLY = "engineer-reply"  # an engineer's answer relayed to the customer
MET_BY_ASSIGN = "assign"  # Sophos §6.1: accepted, registered, severity set, engineer assigned
ANSWER_KINDS = ("relay", "resolved")  # notice kinds that carry an engineer's answer


@dataclass(frozen=True)
class ClockEvent:
    """One incident event as the clock reads it (incident_events.at / type / data)."""

    at: datetime
    type: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Due:
    """Something the scheduler must do at `at`, identified by (kind, rung, cycle)."""

    kind: str
    at: datetime
    rung: str = ""
    cycle: int = 0

    def key(self, ref: str) -> str:
        """The dedupe key: incident, kind, rung, cycle."""
        return f"{ref}:{self.kind}:{self.rung}:{self.cycle}"

    @property
    def short_key(self) -> str:
        return f"{self.kind}:{self.rung}:{self.cycle}"


@dataclass(frozen=True)
class Stretch:
    side: str
    start: datetime
    end: datetime | None  # None: still on this side


@dataclass(frozen=True)
class SlaView:
    """The clock's reading of one incident at `now`."""

    now: datetime
    status: str
    severity: int
    side: str
    opened_at: datetime
    response_due: datetime | None  # None: the clock is stopped on the customer side
    response_met_at: datetime | None
    vendor_time: timedelta  # wall-clock time on the vendor side so far
    customer_time: timedelta
    due: tuple[Due, ...]  # to do now, not done yet
    upcoming: tuple[Due, ...]  # what comes next, each kind at its time
    stretches: tuple[Stretch, ...] = ()  # the sides over time, for side_time_on
    calendar: Calendar | None = None

    def side_time_on(self, side: str, clock: str) -> timedelta:
        """Time on `side` so far on `clock`: an escalation letter shows the clock of the rung it reports
        (issue 14: 8 business hours reached, not "23 h 30 min" of wall time beside it)."""
        if self.calendar is None:
            return self.vendor_time if side == VENDOR else self.customer_time
        total = ZERO
        for s in self.stretches:
            if s.side == side:
                end = min(s.end, self.now) if s.end is not None else self.now
                if end > s.start:
                    total += elapsed(self.calendar, clock, s.start, end)
        return total

    @property
    def response_breached(self) -> bool:
        if self.response_due is None:
            return False
        if self.response_met_at is not None:
            return self.response_met_at > self.response_due
        return self.response_due <= self.now

    @property
    def next_due_at(self) -> datetime | None:
        """When the scheduler should look again (None: nothing scheduled until the events change)."""
        return min((d.at for d in self.upcoming), default=None)
