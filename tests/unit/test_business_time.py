"""Business time to the minute: nights, weekends, holidays, the year-end closure, DST (support-programs.md §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.business_time import (
    CalendarRangeError,
    add_months,
    after,
    business_add,
    business_elapsed,
    is_working_day,
)
from gateway.core.plan import BUSINESS, WALL, Calendar, Duration
from gateway.plans import load_plans

BOOK = load_plans()
SOPHOS = BOOK.calendars["sophos-japan"]
KASPERSKY = BOOK.calendars["kaspersky"]
JST = ZoneInfo("Asia/Tokyo")
BERLIN = Calendar("berlin", "Europe/Berlin", frozenset(range(5)), time(9), time(17, 30), None, ())
NEW_YORK = Calendar("new-york", "America/New_York", frozenset(range(6)), time(8), time(20), None,
                    (((12, 24), (12, 26)),))
MINUTE = timedelta(minutes=1)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)  # type: ignore[misc]


def test_four_business_hours_from_friday_1700_end_on_monday_at_1230() -> None:
    assert business_add(SOPHOS, jst(2026, 11, 27, 17, 0), timedelta(hours=4)) == jst(2026, 11, 30, 12, 30)


def test_a_target_ending_exactly_at_closing_time_ends_at_1730_not_the_next_morning() -> None:
    assert business_add(SOPHOS, jst(2026, 11, 27, 13, 30), timedelta(hours=4)) == jst(2026, 11, 27, 17, 30)


def test_a_mail_at_night_starts_counting_at_nine_the_next_working_morning() -> None:
    assert business_add(SOPHOS, jst(2026, 11, 25, 23, 10), timedelta(hours=1)) == jst(2026, 11, 26, 10, 0)


def test_a_holiday_monday_is_skipped() -> None:
    # 2026-11-23 is Labour Thanksgiving Day (Monday); Friday 17:00 + 1 bh runs into Tuesday.
    assert not is_working_day(SOPHOS, date(2026, 11, 23))
    assert business_add(SOPHOS, jst(2026, 11, 20, 17, 0), timedelta(hours=1)) == jst(2026, 11, 24, 9, 30)


def test_the_year_end_closure_runs_from_29_december_to_3_january() -> None:
    # Monday 28 Dec 2026 16:00 + 2 bh: 1.5 h that day, then closed until Monday 4 Jan 2027.
    assert business_add(SOPHOS, jst(2026, 12, 28, 16, 0), timedelta(hours=2)) == jst(2027, 1, 4, 9, 30)
    assert business_elapsed(SOPHOS, jst(2026, 12, 28, 17, 30), jst(2027, 1, 4, 9, 0)) == timedelta(0)


def test_the_kaspersky_calendar_has_no_year_end_closure_only_holidays() -> None:
    assert is_working_day(KASPERSKY, date(2026, 12, 29))
    assert not is_working_day(KASPERSKY, date(2027, 1, 1))


def test_thirty_business_days_are_thirty_working_days_of_eight_and_a_half_hours() -> None:
    # Opened Tuesday 24 Nov 2026 10:00; 30 business days later, skipping weekends,
    # the year-end closure 29 Dec - 3 Jan and Coming-of-Age Day (Monday 11 Jan 2027).
    end = after(SOPHOS, jst(2026, 11, 24, 10, 0), Duration.parse("30d"), BUSINESS)
    assert end == jst(2027, 1, 12, 10, 0)
    assert business_elapsed(SOPHOS, jst(2026, 11, 24, 10, 0), end) == 30 * timedelta(hours=8, minutes=30)


def test_a_calendar_month_from_the_31st_ends_on_the_last_day_of_the_next_month() -> None:
    assert add_months(SOPHOS, jst(2027, 1, 31, 12, 0), 1) == jst(2027, 2, 28, 12, 0)
    assert after(SOPHOS, jst(2026, 11, 30, 9, 0), Duration.parse("1mo"), WALL) == jst(2026, 12, 30, 9, 0)


def test_business_hours_across_a_dst_change_count_real_working_minutes() -> None:
    # Europe/Berlin switched to summer time on Sunday 29 March 2026; Friday 17:00 + 1 h → Monday 09:30 CEST.
    berlin = ZoneInfo("Europe/Berlin")
    assert business_add(BERLIN, datetime(2026, 3, 27, 17, 0, tzinfo=berlin), timedelta(hours=1)) == \
        datetime(2026, 3, 30, 9, 30, tzinfo=berlin)


def test_dates_outside_the_loaded_holiday_years_are_refused_rather_than_guessed() -> None:
    with pytest.raises(CalendarRangeError):
        is_working_day(SOPHOS, date(2099, 6, 1))


# -- properties against a brute-force minute-by-minute reference ---------------------------------


def _working_minute(cal: Calendar, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(cal.timezone))
    return is_working_day(cal, local.date()) and cal.opens <= local.time() < cal.closes


def _reference_elapsed(cal: Calendar, start: datetime, minutes: int) -> int:
    return sum(_working_minute(cal, start + i * MINUTE) for i in range(minutes))


def _reference_add(cal: Calendar, start: datetime, amount: int) -> datetime:
    count, at = 0, start
    while count < amount:
        if _working_minute(cal, at):
            count += 1
        at += MINUTE
    return at


CALENDARS = st.sampled_from([SOPHOS, KASPERSKY, BERLIN, NEW_YORK])
STARTS = st.integers(0, 4 * 366 * 24 * 60).map(lambda m: datetime(2025, 1, 1, tzinfo=UTC) + m * MINUTE)


@settings(max_examples=120, deadline=None)
@given(cal=CALENDARS, start=STARTS, span=st.integers(0, 9 * 24 * 60))
def test_elapsed_business_time_matches_counting_every_minute(cal: Calendar, start: datetime, span: int) -> None:
    got = business_elapsed(cal, start, start + span * MINUTE)
    assert got == _reference_elapsed(cal, start, span) * MINUTE


@settings(max_examples=120, deadline=None)
@given(cal=CALENDARS, start=STARTS, amount=st.integers(1, 40 * 60))
def test_adding_business_minutes_matches_counting_every_minute(cal: Calendar, start: datetime, amount: int) -> None:
    end = business_add(cal, start, amount * MINUTE)
    assert end == _reference_add(cal, start, amount)
    assert business_elapsed(cal, start, end) == amount * MINUTE
