"""The quarterly review's figures (seeds/000 §4.1, 002 §3) and its chart image."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.outbound.chart import bar_chart
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
