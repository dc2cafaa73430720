"""Business-time arithmetic over a Calendar, exact to the minute. Pure.

A calendar's working time is, for each local date that is a working weekday,
not a public holiday and not in a closure (year-end 29 Dec – 3 Jan), the
interval [opens, closes) in the calendar's time zone. Each day's window is
converted to UTC with zoneinfo, so DST days (23 or 25 hours) are right as long
as the opening hours themselves do not fall into a DST gap (they never do for
real desks: transitions happen at night).

Public holidays come in the Calendar value as plain dates (loaded by
gateway.plans from the `holidays` package for a range of years), so this module
stays pure; a date outside that range is an error rather than a silently wrong
answer.

All functions take and return aware datetimes; results are UTC.
"""

from __future__ import annotations

import calendar as _calendar
from functools import lru_cache
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.core.plan import BUSINESS, Calendar, Duration

ZERO = timedelta(0)
_DAY = timedelta(days=1)
_SEARCH_DAYS = 3700  # ten years without a working day means the calendar is broken


class CalendarRangeError(ValueError):
    """Asked about a date the calendar's holiday data does not cover."""


def is_working_day(cal: Calendar, day: date) -> bool:
    """A weekday the desk works, not a public holiday, not in a closure."""
    if day.weekday() not in cal.weekdays or day in cal.extra_holidays:
        return False
    if cal.holiday_country is not None:
        first, last = cal.holiday_years
        if not first <= day.year <= last:
            raise CalendarRangeError(f"calendar {cal.name!r} has holidays for {first}-{last} only, not {day}")
        if day in cal.holidays:
            return False
    return not any(_in_closure((day.month, day.day), start, end) for start, end in cal.closures)


def _in_closure(md: tuple[int, int], start: tuple[int, int], end: tuple[int, int]) -> bool:
    if start <= end:
        return start <= md <= end
    return md >= start or md <= end  # wraps the new year: 12-29 .. 01-03


@lru_cache(maxsize=16384)
def window(cal: Calendar, day: date) -> tuple[datetime, datetime] | None:
    """The day's working interval in UTC, or None on a day off.

    Cached: every deadline walks the days from its start, and each incident's
    clock is evaluated several times per mail (ack, reschedule, ticks). A Calendar
    is frozen, so the answer for a day never changes.
    """
    if not is_working_day(cal, day):
        return None
    zone = ZoneInfo(cal.timezone)
    start = datetime.combine(day, cal.opens, zone).astimezone(UTC)
    end = datetime.combine(day, cal.closes, zone).astimezone(UTC)
    return start, end


def day_length(cal: Calendar) -> timedelta:
    """A nominal working day (what `1d` means on a business clock)."""
    return datetime.combine(date.min, cal.closes) - datetime.combine(date.min, cal.opens)


def _local_day(cal: Calendar, at: datetime) -> date:
    return at.astimezone(ZoneInfo(cal.timezone)).date()


def business_elapsed(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time inside [start, end); zero if end <= start."""
    if end <= start:
        return ZERO
    total, day, last = ZERO, _local_day(cal, start), _local_day(cal, end)
    while day <= last:
        span = window(cal, day)
        if span is not None:
            lo, hi = max(span[0], start), min(span[1], end)
            if hi > lo:
                total += hi - lo
        day += _DAY
    return total


def business_add(cal: Calendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of working time, counted from `start`, has passed.

    A positive amount ending exactly at closing time ends there (17:30), not at the
    next opening; adding zero returns `start` unchanged.
    """
    if amount < ZERO:
        raise ValueError("cannot add a negative business duration")
    at = start.astimezone(UTC)
    if amount == ZERO:
        return at
    left, day = amount, _local_day(cal, at)
    for _ in range(_SEARCH_DAYS):
        span = window(cal, day)
        if span is not None and span[1] > at:
            lo = max(span[0], at)
            if lo + left <= span[1]:
                return lo + left
            left -= span[1] - lo
        day += _DAY
    raise ValueError(f"calendar {cal.name!r} has no working time within ten years of {start}")


def add_months(cal: Calendar, start: datetime, months: int) -> datetime:
    """Calendar months in the calendar's zone; the 31st becomes the month's last day."""
    local = start.astimezone(ZoneInfo(cal.timezone))
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, _calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def span(cal: Calendar, duration: Duration, clock: str) -> timedelta:
    """A duration without months as an amount of time on `clock` (business days = day length)."""
    if duration.months:
        raise ValueError(f"{duration.text or duration}: months are only allowed for the timeout")
    unit = day_length(cal) if clock == BUSINESS else _DAY
    return duration.days * unit + timedelta(minutes=duration.clock_minutes)


def elapsed(cal: Calendar, clock: str, start: datetime, end: datetime) -> timedelta:
    """Time inside [start, end) on `clock`."""
    if clock == BUSINESS:
        return business_elapsed(cal, start, end)
    return max(ZERO, end - start)


def advance(cal: Calendar, clock: str, start: datetime, amount: timedelta) -> datetime:
    """`start` plus `amount` on `clock`."""
    if clock == BUSINESS:
        return business_add(cal, start, amount)
    return start.astimezone(UTC) + amount


def after(cal: Calendar, start: datetime, duration: Duration, clock: str) -> datetime:
    """`start` plus a plan duration, months included (months are always calendar months)."""
    moved = add_months(cal, start, duration.months) if duration.months else start.astimezone(UTC)
    rest = Duration(0, duration.days, duration.hours, duration.minutes)
    return advance(cal, clock, moved, span(cal, rest, clock))
