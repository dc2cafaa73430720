"""Review periods: '2026Q4', '2026H2', '2026-11', '2026' and their bounds in the desk's zone. Pure.

support-programs.md §4 and §8: the TAM reviews every incident of a customer
every 3 months (seeds/000 §4.1, 002 §3 TAM, 003). A plan's `periodic_report`
names the length ("3mo"); periods are aligned to the calendar year so that
"every 3 months" is the quarters a customer's finance department knows, and a
period's label is its identity (the dedupe key of the review mail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Period lengths in months that tile the year, with how a period of that length is named.
_LABELS = {1: "{year}-{index:02d}", 3: "{year}Q{index}", 6: "{year}H{index}", 12: "{year}"}
_PARSE = ((re.compile(r"^(\d{4})[Qq]([1-4])$"), 3), (re.compile(r"^(\d{4})[Hh]([12])$"), 6),
          (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), 1), (re.compile(r"^(\d{4})()$"), 12))


@dataclass(frozen=True)
class Period:
    """[start, end) in the calendar's zone; `label` names it ('2026Q4')."""

    label: str
    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        """The period's last calendar day: a reader's period is inclusive ('2026-10-01 – 2026-12-31')."""
        return (self.end - timedelta(days=1)).date()


def supported_lengths() -> tuple[int, ...]:
    return tuple(_LABELS)


def _period(year: int, index: int, months: int, zone: ZoneInfo) -> Period:
    first_month = (index - 1) * months + 1
    start = datetime.combine(date(year, first_month, 1), time(0), zone)
    after = first_month - 1 + months
    end = datetime.combine(date(year + after // 12, after % 12 + 1, 1), time(0), zone)
    return Period(_LABELS[months].format(year=year, index=index), start, end)


def parse_period(label: str, timezone: str) -> Period:
    """'2026Q4' → 1 Oct 2026 00:00 to 1 Jan 2027 00:00 in `timezone`; a clear error for anything else."""
    text = label.strip()
    for pattern, months in _PARSE:
        match = pattern.match(text)
        if match is not None:
            index = int(match.group(2)) if match.group(2) else 1
            return _period(int(match.group(1)), index, months, ZoneInfo(timezone))
    raise ValueError(f"not a period: {label!r} (use e.g. 2026Q4, 2026H2, 2026-11 or 2026)")


def period_containing(at: datetime, months: int, timezone: str) -> Period:
    """The period of `months` months (1, 3, 6 or 12) that `at` falls in, in the calendar's zone."""
    if months not in _LABELS:
        raise ValueError(f"a periodic report every {months} months does not tile the year (use 1, 3, 6 or 12)")
    local = at.astimezone(ZoneInfo(timezone))
    return _period(local.year, (local.month - 1) // months + 1, months, ZoneInfo(timezone))


def last_ended(now: datetime, months: int, timezone: str) -> Period:
    """The latest period that has ended by `now`: the one the scheduler reviews."""
    current = period_containing(now, months, timezone)
    return period_containing(current.start - timedelta(days=1), months, timezone)
