"""Support plans and business calendars as plain frozen values (support-programs.md §3–§5).

Loaded from data files by `gateway.plans`; the SLA clock and the templates read
them. Nothing here knows where the data came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, time

_DURATION = re.compile(r"^(?:(?P<mo>\d+)mo)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")

WALL = "wall"
BUSINESS = "business"
CLOCKS = (WALL, BUSINESS)


@dataclass(frozen=True)
class Duration:
    """A span as written in a plan: months, days, hours, minutes.

    Days on a business clock are business days (the calendar's working day
    length), on the wall clock 24 h; months are calendar months.
    """

    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text.strip())
        if not text.strip() or match is None:
            raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 4h, 8h30m, 30d, 1mo)")
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(parts["mo"], parts["d"], parts["h"], parts["m"], text.strip())

    @property
    def clock_minutes(self) -> int:
        """Hours and minutes only, in minutes (days and months are counted by the clock)."""
        return self.hours * 60 + self.minutes


@dataclass(frozen=True)
class Target:
    within: Duration
    clock: str


@dataclass(frozen=True)
class Rung:
    """One automatic escalation step: notify `rung` after `after` of vendor-side time."""

    rung: str
    after: Duration
    clock: str


@dataclass(frozen=True)
class Downgrade:
    """Sophos §7 footnote: severity 1 drops to `to` after `after` on the customer side."""

    after: Duration
    clock: str
    to: int


@dataclass(frozen=True)
class SeverityTerms:
    response: Target
    status_report: Target | str  # a cadence, or "per-agreement" / "periodic-report" / "none"
    escalation: tuple[Rung, ...] = ()
    downgrade: Downgrade | None = None
    # A cap on an agreed cadence: Kaspersky severity 1 "at most once a day, by agreement" (§4).
    status_report_at_most_every: Duration | None = None


@dataclass(frozen=True)
class CustomerSideTerms:
    timeout: Duration
    reminders: tuple[Duration, ...]


@dataclass(frozen=True)
class Calendar:
    """Working hours of a desk: weekdays, daily hours, public holidays and closures."""

    name: str
    timezone: str
    weekdays: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    holiday_country: str | None
    closures: tuple[tuple[tuple[int, int], tuple[int, int]], ...]  # ((month, day), (month, day))
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    # Public holidays of `holiday_country` as plain dates (the shell loads them, the core
    # stays pure) and the years they cover, inclusive; outside them the clock refuses to guess.
    holidays: frozenset[date] = field(default_factory=frozenset, repr=False)
    holiday_years: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class OffHours:
    """Who takes a rung's notices when its person is off (seeds/002 §3, support-programs.md §5).

    "The TAM works Mon–Fri 10:00–18:00 local time; outside those hours requests
    go to the on-duty manager of the support line." `hours` gives the working
    calendar of each rung's person; outside it the notice goes to the rung
    `on_duty` (its recipients under settings [escalation]).
    """

    on_duty: str
    hours: tuple[tuple[str, Calendar], ...]  # (rung, calendar of its person)

    def calendar_of(self, rung: str) -> Calendar | None:
        return next((cal for name, cal in self.hours if name == rung), None)


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    calendar: Calendar
    response_met_by: tuple[str, ...]
    severities: dict[int, SeverityTerms]
    customer_side: CustomerSideTerms
    copy_tam_on_notices: bool = False
    customer_escalation_ladder: tuple[str, ...] = ()
    periodic_report: Duration | None = None
    # seeds/002 appendix 1 (Kaspersky): a level-1 incident becomes level 2 once a workaround exists.
    workaround_downgrade: bool = False
    # The rung an engineer's `#escalate` notifies (Sophos §7 "product development ... as needed").
    engineer_escalation: str | None = None
    off_hours: OffHours | None = None  # issue 14: rungs whose person keeps hours, and who covers the rest

    def terms(self, severity: int) -> SeverityTerms:
        return self.severities[severity]


AS_AGREED = "per-agreement"


def with_agreed_reports(plan: Plan, cadence: Target) -> Plan:
    """The plan with its "per-agreement" status reports replaced by a customer's agreed cadence.

    Where the plan caps the cadence (`status_report_at_most_every`, msa-enterprise
    severity 1: "at most once a day, by agreement", support-programs.md §4), an
    agreement for more often is held to the cap: a day is 24 h on the wall clock
    and one working day on a business clock.
    """
    severities = {level: replace(terms, status_report=_capped(plan, cadence, terms.status_report_at_most_every))
                  if terms.status_report == AS_AGREED else terms for level, terms in plan.severities.items()}
    return replace(plan, severities=severities)


def _capped(plan: Plan, cadence: Target, cap: Duration | None) -> Target:
    if cap is None or cap.months:
        return cadence
    cal = plan.calendar
    day = 24 * 60 if cadence.clock == WALL else (cal.closes.hour * 60 + cal.closes.minute
                                                 - cal.opens.hour * 60 - cal.opens.minute)
    agreed = cadence.within.days * day + cadence.within.clock_minutes
    # The cap is written in wall time ("24h"); on a business clock each wall day is one working day.
    cap_wall = cap.days * 24 * 60 + cap.clock_minutes
    floor = cap_wall if cadence.clock == WALL else cap_wall * day // (24 * 60)
    if agreed >= floor:
        return cadence
    within = cap if cadence.clock == WALL else Duration(days=cap_wall // (24 * 60), minutes=cap_wall % (24 * 60) * day
                                                                   // (24 * 60), text=cap.text)
    return Target(within, cadence.clock)
