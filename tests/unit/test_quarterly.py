"""The quarterly review's figures (seeds/000 §4.1, 002 §3) and its chart image."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.outbound.chart import bar_chart, scale_step
from gateway.core.periods import last_ended, parse_period
from gateway.core.quarterly import IncidentRecord, build, quarter_bounds
from gateway.core.sla import ClockEvent
from gateway.plans import load_plans

JST = ZoneInfo("Asia/Tokyo")
PLAN = load_plans().get("msa-enterprise")


def jst(month: int, day: int, hour: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=JST)


def test_quarter_four_runs_from_october_to_new_year_in_the_desks_zone() -> None:
    assert quarter_bounds("2026Q4", "Asia/Tokyo") == (jst(10, 1, 0), jst(1, 1, 0, year=2027))
    with pytest.raises(ValueError, match="2026Q4"):
        quarter_bounds("2026-4", "Asia/Tokyo")


def test_the_review_counts_incidents_targets_met_side_time_and_what_is_still_open() -> None:
    answered = IncidentRecord("INC-000001", "VPN down", (
        ClockEvent(jst(11, 24, 10), "opened", {"severity": 2, "side": "vendor"}),
        ClockEvent(jst(11, 24, 11), "notice", {"kind": "relay"}),  # within 4 h: met
        ClockEvent(jst(11, 24, 11), "side", {"side": "customer"}),
        ClockEvent(jst(11, 24, 13), "side", {"side": "vendor"}),
        ClockEvent(jst(11, 24, 14), "status", {"status": "resolved", "resolution": "answered"}),
    ))
    late = IncidentRecord("INC-000002", "Slow scans", (
        ClockEvent(jst(12, 1, 10), "opened", {"severity": 3, "side": "vendor"}),
    ))
    report = build("2026Q4", PLAN, [answered, late])
    assert report.opened == {2: 1, 3: 1} and report.resolved == {2: 1}
    assert (report.responses_due, report.responses_met, report.met_percent) == (2, 1, 50.0)
    assert report.customer_time == timedelta(hours=2)
    assert [item.ref for item in report.still_open] == ["INC-000002"]


def test_the_chart_is_a_valid_png_of_the_requested_size() -> None:
    png = bar_chart([[3, 1], [0, 2]], width=120, height=60)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (120, 60)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 60 * (1 + 120 * 3)


def test_a_running_quarter_is_read_now_so_a_response_not_yet_due_is_not_breached() -> None:
    waiting = IncidentRecord("INC-000003", "Agent crash", (
        ClockEvent(jst(12, 3, 10), "opened", {"severity": 3, "side": "vendor"}),  # 6 business h: due 16:00+
    ))
    report = build("2026Q4", PLAN, [waiting], now=jst(12, 3, 12))
    assert report.running and report.as_of == jst(12, 3, 12)
    assert (report.responses_due, report.responses_met, report.met_percent) == (0, 0, None)
    assert report.vendor_time == timedelta(hours=2)  # open time stops at now, not at 1 January
    assert report.last_day.isoformat() == "2026-12-31"  # the period is the quarter; "to date" says the rest


def test_an_incident_answered_and_resolved_62_seconds_after_opening_counts_as_met() -> None:
    opened = jst(11, 24, 10)
    quick = IncidentRecord("INC-000004", "Licence key", (
        ClockEvent(opened, "opened", {"severity": 3, "side": "vendor"}),
        ClockEvent(opened + timedelta(seconds=62), "message", {"from": "engineer", "commands": ["resolve"]}),
        ClockEvent(opened + timedelta(seconds=62), "status", {"status": "resolved", "resolution": "answered"}),
        ClockEvent(opened + timedelta(seconds=62), "notice", {"kind": "resolved"}),
    ))
    report = build("2026Q4", PLAN, [quick], now=jst(12, 3, 12))
    assert (report.responses_due, report.responses_met) == (1, 1)
    assert report.opened == {3: 1} and report.resolved == {3: 1} and report.still_open == ()


def test_an_ended_quarter_is_read_at_its_end_and_its_last_day_is_the_31st() -> None:
    late = IncidentRecord("INC-000005", "Slow scans", (
        ClockEvent(jst(12, 1, 10), "opened", {"severity": 3, "side": "vendor"}),
    ))
    report = build("2026Q4", PLAN, [late], now=jst(2, 10, 9, year=2027))
    assert not report.running and report.as_of == jst(1, 1, 0, year=2027)
    assert report.last_day.isoformat() == "2026-12-31"
    assert (report.responses_due, report.responses_met) == (1, 0)
    assert report.vendor_time == jst(1, 1, 0, year=2027) - jst(12, 1, 10)


def test_incidents_whose_status_reports_are_in_the_periodic_report_are_listed_in_it() -> None:
    sev1 = IncidentRecord("INC-000006", "Outage", (ClockEvent(jst(12, 1, 10), "opened", {"severity": 1}),))
    sev2 = IncidentRecord("INC-000007", "Slow", (ClockEvent(jst(12, 1, 11), "opened", {"severity": 2}),))
    sev4 = IncidentRecord("INC-000008", "How to", (
        ClockEvent(jst(10, 5, 11), "opened", {"severity": 4}),
        ClockEvent(jst(10, 6, 11), "status", {"status": "closed"}),
    ))
    report = build("2026Q4", PLAN, [sev1, sev2, sev4], now=jst(12, 3, 12))
    assert [(i.ref, i.status) for i in report.reported] == [("INC-000007", "open"), ("INC-000008", "closed")]


def test_periods_are_calendar_quarters_halves_months_and_years_in_the_desks_zone() -> None:
    assert parse_period("2026q4", "Asia/Tokyo").last_day.isoformat() == "2026-12-31"
    assert parse_period("2026H1", "Asia/Tokyo").end == jst(7, 1, 0)
    assert parse_period("2026-02", "Asia/Tokyo").last_day.isoformat() == "2026-02-28"
    assert parse_period("2026", "Asia/Tokyo").end == jst(1, 1, 0, year=2027)
    assert last_ended(jst(1, 1, 0, year=2027), 3, "Asia/Tokyo").label == "2026Q4"
    assert last_ended(jst(12, 31, 23), 3, "Asia/Tokyo").label == "2026Q3"
    with pytest.raises(ValueError, match="2026Q5"):
        parse_period("2026Q5", "Asia/Tokyo")


def test_the_chart_draws_a_y_axis_scale_and_the_severities_under_the_bars() -> None:
    assert [scale_step(n) for n in (0, 4, 6, 24, 120)] == [1, 1, 2, 5, 50]
    png = bar_chart([[3, 1], [0, 2], [12, 7], [1, 0]], width=480, height=220)
    raw = zlib.decompress(png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8])
    rows = [raw[y * (1 + 480 * 3) + 1:(y + 1) * (1 + 480 * 3)] for y in range(220)]

    def dark(x0: int, x1: int, y0: int, y1: int) -> int:
        return sum(1 for y in range(y0, y1) for x in range(x0, x1) if rows[y][3 * x] < 100)

    assert dark(0, 34, 0, 220) > 40  # the scale's digits left of the y axis (0, 5, 10, 15)
    assert dark(40, 480, 198, 220) > 40  # the severity digits under the x axis
    assert dark(0, 34, 100, 220) and dark(0, 34, 0, 40)  # ticks from bottom to top
