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
    """The plan with its "per-agreement" status reports replaced by a customer's agreed cadence."""
    severities = {level: replace(terms, status_report=cadence) if terms.status_report == AS_AGREED else terms
                  for level, terms in plan.severities.items()}
    return replace(plan, severities=severities)
