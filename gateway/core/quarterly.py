"""The quarterly per-customer review (seeds/000 §4.1, 002 §3 TAM, 003): figures from event logs. Pure.

The TAM reviews every incident of a customer every three months: opened and
resolved by severity, how many response targets were met, time on the vendor
side against time on the customer side, and what is still open at the end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.core.plan import Plan
from gateway.core.sla import CUSTOMER, VENDOR, ClockEvent, evaluate, side_time

_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the report needs it: identity plus its event log."""

    ref: str
    subject: str
    events: tuple[ClockEvent, ...]


@dataclass(frozen=True)
class OpenItem:
    ref: str
    subject: str
    severity: int
    side: str
    opened_at: datetime


@dataclass(frozen=True)
class QuarterReport:
    label: str
    start: datetime
    end: datetime
    opened: dict[int, int] = field(default_factory=dict)  # severity at opening → count
    resolved: dict[int, int] = field(default_factory=dict)  # severity when resolved/closed → count
    responses_due: int = 0
    responses_met: int = 0
    vendor_time: timedelta = timedelta(0)
    customer_time: timedelta = timedelta(0)
    still_open: tuple[OpenItem, ...] = ()

    @property
    def met_percent(self) -> float | None:
        return None if not self.responses_due else round(100.0 * self.responses_met / self.responses_due, 1)


def quarter_bounds(label: str, timezone: str) -> tuple[datetime, datetime]:
    """'2026Q4' → [1 Oct 2026 00:00, 1 Jan 2027 00:00) in the calendar's zone."""
    match = _QUARTER.match(label.strip())
    if match is None:
        raise ValueError(f"not a quarter: {label!r} (use e.g. 2026Q4)")
    year, quarter = int(match.group(1)), int(match.group(2))
    zone = ZoneInfo(timezone)
    start = datetime.combine(date(year, 3 * quarter - 2, 1), time(0), zone)
    end = datetime.combine(date(year + quarter // 4, 3 * quarter % 12 + 1, 1), time(0), zone)
    return start, end


def build(label: str, plan: Plan, incidents: Sequence[IncidentRecord]) -> QuarterReport:
    """The figures for one customer's quarter."""
    start, end = quarter_bounds(label, plan.calendar.timezone)
    opened: dict[int, int] = {}
    resolved: dict[int, int] = {}
    due = met = 0
    vendor = customer = timedelta(0)
    still_open = []
    for record in incidents:
        events = [e for e in record.events if e.at < end]
        if not events:
            continue
        first = events[0]
        view = evaluate(events, plan, end)
        if start <= first.at < end:
            level = int(first.data["severity"])
            opened[level] = opened.get(level, 0) + 1
            if view.response_due is not None and (view.response_met_at or view.response_due <= end):
                due += 1
                met += not view.response_breached
        closing = next((e for e in events if e.type == "status" and e.data.get("status") in ("resolved", "closed")
                        and start <= e.at < end), None)
        if closing is not None:
            resolved[view.severity] = resolved.get(view.severity, 0) + 1
        times = side_time(events, plan, start, end)
        vendor += times[VENDOR]
        customer += times[CUSTOMER]
        if view.status == "open":
            still_open.append(OpenItem(record.ref, record.subject, view.severity, view.side, first.at))
    return QuarterReport(label.upper(), start, end, opened, resolved, due, met, vendor, customer,
                         tuple(still_open))
