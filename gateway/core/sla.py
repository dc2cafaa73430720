"""The SLA clock: (incident events, plan, now) → deadlines and what is due. Pure.

support-programs.md §2–§5. The incident's event log is the only input besides
the plan (which carries its calendar) and `now`, so the same function serves the
scheduler, `replay`, reports and exact-minute tests.

- Vendor-side time (since opening, summed over the vendor-side stretches) drives
  the response target, status reports and automatic escalation rungs.
- Customer-side time drives the severity-1 downgrade (Sophos §7 footnotes) and
  the timeout with its reminders (Kaspersky §3); both count from the start of
  the current customer-side stretch, so an answer from the customer resets them.
- A severity change re-reads the targets of the new severity, against the
  elapsed vendor-side time since opening: nothing accumulated is lost. Only the
  status-report cadence restarts at a severity change (a customer whose
  incident was just raised to 1 gets the first 2-hourly report 2 h later, not a
  burst for the hours spent at severity 3).
- A resolved incident reopened by `#reopen` continues from where it stopped:
  the resolved stretch counts on neither side.
- Periodic things (reports, reminders) only ever offer the latest cycle due: a
  gateway that was down for a day sends one report, not twelve.

Each due item has a key (kind, rung, cycle); the shell writes it into the
event that records the action and into `outbox.dedupe_key`, so the clock sees
what was done and the database refuses a second copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.business_time import ZERO, advance, after, elapsed, span
from gateway.core.plan import WALL, Plan, Target

# The vocabulary, re-exported: callers read `sla.OPEN`, `sla.Due`, `sla.SlaView`.
from gateway.core.sla_model import (
    ANSWER_KINDS,
    CUSTOMER,
    DOWNGRADE,
    DOWNGRADE_REASON,
    ESCALATION,
    MET_BY_ASSIGN,
    MET_BY_REPLY,
    OPEN,
    REMINDER,
    RESPONSE,
    STATUS,
    TIMEOUT,
    VENDOR,
    ClockEvent,
    Due,
    SlaView,
    Stretch,
)

__all__ = ["ANSWER_KINDS", "CUSTOMER", "DOWNGRADE", "DOWNGRADE_REASON", "ESCALATION", "MET_BY_ASSIGN",
           "MET_BY_REPLY", "OPEN", "REMINDER", "RESPONSE", "STATUS", "TIMEOUT", "VENDOR", "ClockEvent", "Due",
           "SlaView", "Stretch", "evaluate", "first_response_due", "fold", "side_time"]


@dataclass
class _Log:
    """The event log folded into the facts the clock needs."""

    opened_at: datetime
    severity: int
    status: str = OPEN
    closed_at: datetime | None = None
    severity_since: datetime | None = None  # the last severity change (reports restart there)
    severity_changes: int = 0
    met_at: datetime | None = None
    met_severity: int = 0  # the severity when the response was met: its target is the one judged
    done: frozenset[str] = frozenset()
    stretches: tuple[Stretch, ...] = ()


def fold(events: Sequence[ClockEvent], plan: Plan) -> _Log:
    """Read the log once: severity, status, sides, response met, keys already done."""
    first = events[0]
    if first.type != "opened":
        raise ValueError("an incident's events begin with 'opened'")
    log = _Log(first.at, int(first.data["severity"]))
    side, since, stretches, done = str(first.data.get("side", VENDOR)), first.at, [], set()
    for event in events[1:]:
        data = event.data
        if "key" in data:
            done.add(str(data["key"]))
        if log.status != OPEN:
            if event.type == "status" and data.get("status") == OPEN and log.status == "resolved":
                # `#reopen` (issue 11): the clock resumes on the vendor side where it stopped; the
                # time spent resolved counts on neither side, a met response stays met.
                stretches.append(Stretch(side, since, log.closed_at))
                side, since, log.status, log.closed_at = VENDOR, event.at, OPEN, None
            continue
        if event.type == "severity" and int(data["to"]) != log.severity:
            log.severity, log.severity_since = int(data["to"]), event.at
            log.severity_changes += 1
        elif event.type == "side" and data["side"] != side:
            stretches.append(Stretch(side, since, event.at))
            side, since = str(data["side"]), event.at
        elif event.type == "status" and data.get("status") != OPEN:
            log.status, log.closed_at = str(data["status"]), event.at
        if log.met_at is None and _meets_response(event, plan.response_met_by):
            log.met_at, log.met_severity = event.at, log.severity
    stretches.append(Stretch(side, since, log.closed_at))
    log.done, log.stretches = frozenset(done), tuple(stretches)
    return log


def _meets_response(event: ClockEvent, met_by: Iterable[str]) -> bool:
    if event.type == "notice" and event.data.get("kind") in ANSWER_KINDS:
        return MET_BY_REPLY in met_by
    return event.type == "assigned" and MET_BY_ASSIGN in met_by


def first_response_due(plan: Plan, severity: int, opened_at: datetime) -> datetime:
    """When a new incident's first response is due: what evaluate() says of a log of one "opened".

    The acknowledgement prints it; the shortcut skips reports and escalations,
    which the ack does not show (evaluate() is the reference: the tests hold them equal).
    """
    target = plan.terms(severity).response
    return advance(plan.calendar, target.clock, opened_at, span(plan.calendar, target.within, target.clock))


def evaluate(events: Sequence[ClockEvent], plan: Plan, now: datetime) -> SlaView:
    """The clock at `now`: deadlines, what is due and not done, and what comes next."""
    log = fold(events, plan)
    terms = plan.terms(log.severity)
    vendor = _Side(plan, [s for s in log.stretches if s.side == VENDOR], now)
    # Once met, the due time is where it would have been had the vendor side gone on.
    answered = _Side(plan, _until(vendor.stretches, log.met_at), now) if log.met_at else vendor
    target = plan.terms(log.met_severity).response if log.met_at else terms.response
    response_due = answered.reach(target.clock, span(plan.calendar, target.within, target.clock))
    due: list[Due] = []
    upcoming: list[Due] = []
    if log.status == OPEN:
        if log.met_at is None and response_due is not None:
            _sort(Due(RESPONSE, response_due), now, log, due, upcoming)
        if isinstance(terms.status_report, Target):
            since = _Side(plan, _since(vendor.stretches, log.severity_since), now)
            _reports(since, terms.status_report, log, now, due, upcoming)
        for rung in terms.escalation:
            at = vendor.reach(rung.clock, span(plan.calendar, rung.after, rung.clock))
            if at is not None:
                _sort(Due(ESCALATION, at, rung.rung), now, log, due, upcoming)
        current = log.stretches[-1]
        if current.side == CUSTOMER:
            _customer_side(plan, log, current, now, due, upcoming)
    return SlaView(
        now=now, status=log.status, severity=log.severity, side=log.stretches[-1].side,
        opened_at=log.opened_at, response_due=response_due, response_met_at=log.met_at,
        vendor_time=_wall(log.stretches, VENDOR, now), customer_time=_wall(log.stretches, CUSTOMER, now),
        due=tuple(sorted(due, key=_order)), upcoming=tuple(sorted(upcoming, key=_order)),
        stretches=log.stretches, calendar=plan.calendar,
    )


def _order(item: Due) -> tuple[datetime, str, str, int]:
    return (item.at, item.kind, item.rung, item.cycle)


def _sort(item: Due, now: datetime, log: _Log, due: list[Due], upcoming: list[Due]) -> None:
    if item.at > now:
        upcoming.append(item)
    elif item.short_key not in log.done:
        due.append(item)


class _Side:
    """Time on one side, as stretches; the open one (end None) runs on into the future."""

    def __init__(self, plan: Plan, stretches: list[Stretch], now: datetime) -> None:
        self.calendar, self.stretches, self.now = plan.calendar, stretches, now

    def so_far(self, clock: str) -> timedelta:
        total = ZERO
        for s in self.stretches:
            end = min(s.end, self.now) if s.end is not None else self.now
            total += elapsed(self.calendar, clock, s.start, end)
        return total

    def reach(self, clock: str, amount: timedelta) -> datetime | None:
        """The instant this side's time reaches `amount`, if it ever does on the current course."""
        total = ZERO
        for s in self.stretches:
            length = elapsed(self.calendar, clock, s.start, s.end) if s.end is not None else None
            if length is None or total + length >= amount:
                return advance(self.calendar, clock, s.start, amount - total)
            total += length
        return None


def _until(stretches: list[Stretch], at: datetime) -> list[Stretch]:
    """The stretches begun by `at`; the one running at `at` left open."""
    kept = [s for s in stretches if s.start <= at]
    if kept and (kept[-1].end is None or kept[-1].end >= at):
        kept[-1] = Stretch(kept[-1].side, kept[-1].start, None)
    return kept


def _since(stretches: list[Stretch], at: datetime | None) -> list[Stretch]:
    """The part of the stretches after `at`."""
    if at is None:
        return stretches
    return [Stretch(s.side, max(s.start, at), s.end) for s in stretches if s.end is None or s.end > at]


def _reports(vendor: _Side, cadence: Target, log: _Log, now: datetime, due: list[Due],
             upcoming: list[Due]) -> None:
    """Report n is due when vendor-side time reaches n intervals; only the latest one is offered."""
    interval = span(vendor.calendar, cadence.within, cadence.clock)
    rung = f"s{log.severity}" + (f".{log.severity_changes}" if log.severity_changes else "")
    if interval <= ZERO:
        return
    cycle = vendor.so_far(cadence.clock) // interval
    if cycle >= 1:
        at = vendor.reach(cadence.clock, cycle * interval)
        if at is not None:
            _sort(Due(STATUS, at, rung, cycle), now, log, due, upcoming)
    following = vendor.reach(cadence.clock, (cycle + 1) * interval)
    if following is not None:
        upcoming.append(Due(STATUS, following, rung, cycle + 1))


def _customer_side(plan: Plan, log: _Log, current: Stretch, now: datetime, due: list[Due],
                   upcoming: list[Due]) -> None:
    """Downgrade, reminders and timeout, counted from the start of this customer-side stretch."""
    cycle = sum(1 for s in log.stretches if s.side == CUSTOMER)
    terms = plan.terms(log.severity)
    if log.severity == 1 and terms.downgrade is not None:
        rule = terms.downgrade
        at = after(plan.calendar, current.start, rule.after, rule.clock)
        _sort(Due(DOWNGRADE, at, str(rule.to), cycle), now, log, due, upcoming)
    side = plan.customer_side
    timeout = Due(TIMEOUT, after(plan.calendar, current.start, side.timeout, WALL), "", cycle)
    _sort(timeout, now, log, due, upcoming)
    if timeout.at <= now:
        return  # closing: a reminder now would only confuse
    reminders = [Due(REMINDER, after(plan.calendar, current.start, r, WALL), r.text, cycle)
                 for r in side.reminders]
    passed = [r for r in reminders if r.at <= now]
    if passed:
        _sort(passed[-1], now, log, due, upcoming)
    upcoming.extend(r for r in reminders if r.at > now)


def _wall(stretches: Iterable[Stretch], side: str, now: datetime) -> timedelta:
    total = ZERO
    for s in stretches:
        if s.side == side:
            end = min(s.end, now) if s.end is not None else now
            total += max(ZERO, end - s.start)
    return total


def side_time(events: Sequence[ClockEvent], plan: Plan, start: datetime, end: datetime) -> dict[str, timedelta]:
    """Wall-clock time on each side inside [start, end) (the quarterly report's split)."""
    totals = {VENDOR: ZERO, CUSTOMER: ZERO}
    for s in fold(events, plan).stretches:
        lo, hi = max(s.start, start), min(s.end or end, end)
        if hi > lo:
            totals[s.side] = totals.get(s.side, ZERO) + (hi - lo)
    return totals
