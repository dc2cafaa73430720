"""The periodic (quarterly) per-customer review (seeds/000 §4.1, 002 §3 TAM, 003): figures from event logs. Pure.

The TAM reviews every incident of a customer every three months: opened and
resolved by severity, how many response targets were met, time on the vendor
side against time on the customer side, and what is still open at the end.

Which clock: everything is evaluated at `as_of` = min(now, period end). For a
running quarter that is *now* ("to date"): a response not yet due is neither met
nor breached and is left out of the tally, open time stops at now, and what is
open is "open now", never "open at the end of the quarter".
Incidents whose severity's status reports are "in the periodic report"
(support-programs.md §4, msa-enterprise 2–4) are listed one by one: this
review is their status report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.core.business_time import window
from gateway.core.periods import Period, parse_period
from gateway.core.plan import Calendar, Plan
from gateway.core.sla import ANSWER_KINDS, CUSTOMER, OPEN, VENDOR, ClockEvent, evaluate, side_time

IN_PERIODIC_REPORT = "periodic-report"  # a status_report policy: support-programs.md §4


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
    status: str = OPEN


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
    as_of: datetime | None = None  # min(now, end): the instant every figure is read at
    # Incidents whose status reports are "in the periodic report": listed with their state at as_of.
    reported: tuple[OpenItem, ...] = ()

    @property
    def met_percent(self) -> float | None:
        return None if not self.responses_due else round(100.0 * self.responses_met / self.responses_due, 1)

    @property
    def running(self) -> bool:
        """The period has not ended yet: figures are "to date"."""
        return self.as_of is not None and self.as_of < self.end

    @property
    def last_day(self) -> date:
        """The period's inclusive last day, as a reader writes a period: 2026-12-31 for 2026Q4."""
        return (self.end - timedelta(days=1)).date()


def quarter_bounds(label: str, timezone: str) -> tuple[datetime, datetime]:
    """'2026Q4' → [1 Oct 2026 00:00, 1 Jan 2027 00:00) in the calendar's zone."""
    period = parse_period(label, timezone)
    return period.start, period.end


def first_opening_after(calendar: Calendar, at: datetime) -> datetime:
    """The first working instant at or after `at` (a review is sent when the desk opens, not at midnight)."""
    day = at.astimezone(ZoneInfo(calendar.timezone)).date()
    for _ in range(366):
        try:
            hours = window(calendar, day)
        except ValueError:  # beyond the years the holiday list covers: send, rather than never
            return at
        if hours is not None and hours[1] > at:
            return max(hours[0], at)
        day += timedelta(days=1)
    return at  # a calendar with no working day in a year: do not hold the review back for ever


def _answer_first(events: Sequence[ClockEvent]) -> list[ClockEvent]:
    """The log with an answer put before a resolution written at the same instant.

    An engineer's `#resolve` mail writes the status change and then the
    "resolved" letter that carries the answer, both at the same minute; read in
    that order the clock would see the incident closed before it was answered,
    and an incident answered and resolved 62 s after opening would count as
    never answered (issue 14, item 9).
    """
    ordered = list(events)
    for index in range(1, len(ordered)):
        here = ordered[index]
        if here.type == "notice" and here.data.get("kind") in ANSWER_KINDS:
            at = index
            while at > 0 and ordered[at - 1].type == "status" and ordered[at - 1].at == here.at:
                ordered[at - 1], ordered[at] = ordered[at], ordered[at - 1]
                at -= 1
    return ordered


def build(label: str, plan: Plan, incidents: Sequence[IncidentRecord], now: datetime | None = None) -> QuarterReport:
    """The figures for one customer's period, read at min(now, period end) (`now` None: at the end)."""
    period: Period = parse_period(label, plan.calendar.timezone)
    start, end = period.start, period.end
    as_of = end if now is None else min(now, end)
    opened: dict[int, int] = {}
    resolved: dict[int, int] = {}
    due = met = 0
    vendor = customer = timedelta(0)
    still_open: list[OpenItem] = []
    reported: list[OpenItem] = []
    for record in incidents:
        events = _answer_first([e for e in record.events if e.at < end and e.at <= as_of])
        if not events or events[0].at > as_of:
            continue
        first = events[0]
        view = evaluate(events, plan, as_of)
        if start <= first.at:
            level = int(first.data["severity"])
            opened[level] = opened.get(level, 0) + 1
            answered = view.response_met_at is not None and view.response_met_at <= as_of
            if view.response_due is not None and (answered or view.response_due <= as_of):
                due += 1
                met += not view.response_breached
        closing = next((e for e in events if e.type == "status" and e.data.get("status") in ("resolved", "closed")
                        and start <= e.at), None)
        if closing is not None:
            resolved[view.severity] = resolved.get(view.severity, 0) + 1
        times = side_time(events, plan, start, as_of)
        vendor += times[VENDOR]
        customer += times[CUSTOMER]
        item = OpenItem(record.ref, record.subject, view.severity, view.side, first.at, view.status)
        if view.status == OPEN:
            still_open.append(item)
        if plan.terms(view.severity).status_report == IN_PERIODIC_REPORT and (view.status == OPEN or closing):
            reported.append(item)
    return QuarterReport(period.label, start, end, opened, resolved, due, met, vendor, customer,
                         tuple(still_open), as_of, tuple(reported))
