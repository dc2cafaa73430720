"""Status-report cadences that are not a fixed interval (support-programs.md §4, issue 14 item 8).

- msa-enterprise severity 1: "at most once a day, by agreement": none unless the
  customer's settings agree a cadence, and never more often than once a day.
- "in the periodic report" (msa-enterprise 2–4): nothing is sent on its own; the
  periodic review lists these incidents (tests/unit/test_quarterly.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.core.plan import BUSINESS, WALL, Duration, Target, with_agreed_reports
from gateway.core.sla import STATUS, ClockEvent, evaluate
from gateway.plans import PlanError, load_plans

BOOK = load_plans()
MSA = BOOK.get("msa-enterprise")
JST = ZoneInfo("Asia/Tokyo")
TUESDAY_1000 = datetime(2026, 11, 24, 10, 0, tzinfo=JST)


def jst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=JST)


def reports(plan_events_now: tuple[object, list[ClockEvent], datetime]) -> list[datetime]:
    plan, events, now = plan_events_now
    view = evaluate(events, plan, now)  # type: ignore[arg-type]
    return [d.at for d in (*view.due, *view.upcoming) if d.kind == STATUS]


OPENED = [ClockEvent(TUESDAY_1000, "opened", {"severity": 1, "side": "vendor"})]


def test_msa_severity_one_sends_no_status_report_without_an_agreement() -> None:
    assert reports((MSA, OPENED, jst(26, 10))) == []


def test_msa_severity_one_sends_the_agreed_daily_report_at_the_agreed_minute() -> None:
    agreed = with_agreed_reports(MSA, Target(Duration.parse("24h"), WALL))
    assert reports((agreed, OPENED, jst(25, 9, 59))) == [jst(25, 10)]


def test_msa_severity_one_agreed_every_two_hours_is_held_to_once_a_day() -> None:
    agreed = with_agreed_reports(MSA, Target(Duration.parse("2h"), WALL))
    assert agreed.terms(1).status_report == Target(Duration.parse("24h"), WALL)
    assert reports((agreed, OPENED, jst(24, 12))) == [jst(25, 10)]  # not 12:00 today


def test_msa_severity_one_agreed_on_business_hours_is_held_to_one_working_day() -> None:
    agreed = with_agreed_reports(MSA, Target(Duration.parse("4h"), BUSINESS))
    report = agreed.terms(1).status_report
    assert isinstance(report, Target) and (report.within.days, report.within.clock_minutes) == (1, 0)


def test_a_longer_agreed_cadence_than_the_cap_is_kept() -> None:
    agreed = with_agreed_reports(MSA, Target(Duration.parse("2d"), WALL))
    assert agreed.terms(1).status_report == Target(Duration.parse("2d"), WALL)


@pytest.mark.parametrize("severity", [2, 3, 4])
def test_in_the_periodic_report_sends_nothing_separate_even_with_an_agreement(severity: int) -> None:
    agreed = with_agreed_reports(MSA, Target(Duration.parse("24h"), WALL))
    assert agreed.terms(severity).status_report == "periodic-report"
    events = [ClockEvent(TUESDAY_1000, "opened", {"severity": severity, "side": "vendor"})]
    assert reports((agreed, events, jst(30, 10))) == []
    assert MSA.periodic_report == Duration.parse("3mo")


def test_a_plan_with_reports_in_a_periodic_report_it_does_not_have_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "gateway" / "plans" / "msa-enterprise.toml").read_text()
    (tmp_path / "mine.toml").write_text(text.replace('name = "msa-enterprise"', 'name = "mine"')
                                        .replace('periodic_report = "3mo"\n', ""), encoding="utf-8")
    with pytest.raises(PlanError, match="periodic_report"):
        load_plans(tmp_path)


def test_a_periodic_report_that_does_not_tile_the_year_is_refused(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "gateway" / "plans" / "msa-enterprise.toml").read_text()
    (tmp_path / "mine.toml").write_text(text.replace('name = "msa-enterprise"', 'name = "mine"')
                                        .replace('periodic_report = "3mo"', 'periodic_report = "90d"'),
                                        encoding="utf-8")
    with pytest.raises(PlanError, match="3mo"):
        load_plans(tmp_path)
