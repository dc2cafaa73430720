"""Built-in plans carry the targets of the seeds (support-programs.md §4, §5); bad plans fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.plan import BUSINESS, WALL, Duration
from gateway.plans import PlanError, load_plans
from gateway.render import describe_target


@pytest.mark.parametrize(("plan", "severity", "within", "clock"), [
    ("enhanced", 1, "4h", BUSINESS), ("enhanced", 2, "8h", BUSINESS), ("enhanced", 3, "24h", BUSINESS),
    ("enhanced", 4, "24h", BUSINESS), ("enhanced-plus", 1, "1h", BUSINESS), ("enhanced-plus", 2, "2h", BUSINESS),
    ("tam", 1, "1h", BUSINESS), ("tam", 2, "2h", BUSINESS),
    ("msa-enterprise", 1, "30m", WALL), ("msa-enterprise", 2, "4h", WALL),
    ("msa-enterprise", 3, "6h", BUSINESS), ("msa-enterprise", 4, "8h", BUSINESS),
])
def test_builtin_plan_response_targets_match_the_seeds(plan: str, severity: int, within: str, clock: str) -> None:
    target = load_plans().get(plan).terms(severity).response
    assert (target.within, target.clock) == (Duration.parse(within), clock)


def test_tam_plan_inherits_enhanced_plus_and_copies_the_tam() -> None:
    book = load_plans()
    tam, plus = book.get("tam"), book.get("enhanced-plus")
    assert tam.severities == plus.severities and tam.copy_tam_on_notices
    assert tam.calendar.name == "sophos-japan"


def test_sophos_calendar_is_tokyo_weekdays_0900_to_1730_with_year_end_closure() -> None:
    calendar = load_plans().get("enhanced").calendar
    assert calendar.timezone == "Asia/Tokyo" and calendar.weekdays == frozenset(range(5))
    assert (str(calendar.opens), str(calendar.closes)) == ("09:00:00", "17:30:00")
    assert calendar.closures == (((12, 29), (1, 3)),) and calendar.holiday_country == "JP"


def test_operator_plan_with_a_bad_clock_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "gold.toml").write_text(
        'name = "gold"\ncalendar = "kaspersky"\n[customer_side]\ntimeout = "1mo"\n'
        + "".join(f'[severity.{n}]\nresponse = {{ within = "1h", clock = "moon" }}\n' for n in range(1, 5)),
        encoding="utf-8")
    with pytest.raises(PlanError, match=r"gold\.toml: severity: .*moon"):
        load_plans(tmp_path)


def test_operator_plan_in_the_plans_dir_is_loaded_beside_the_builtins(tmp_path: Path) -> None:
    (tmp_path / "gold.toml").write_text(
        'name = "gold"\ncalendar = "kaspersky"\n[customer_side]\ntimeout = "1mo"\n'
        + "".join(f'[severity.{n}]\nresponse = {{ within = "{n}h", clock = "wall" }}\n' for n in range(1, 5)),
        encoding="utf-8")
    book = load_plans(tmp_path)
    assert book.get("gold").terms(2).response.within.hours == 2 and "enhanced" in book.plans


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("4h", "en", "4 business hours"), ("4h", "ja", "4営業時間"),
    ("1h", "en", "1 business hour"), ("8h30m", "ja", "8時間30分（営業時間）"),
])
def test_response_target_is_described_in_the_customers_language(text: str, locale: str, expected: str) -> None:
    from gateway.core.plan import Target

    assert describe_target(Target(Duration.parse(text), BUSINESS), locale) == expected


def test_wall_clock_target_is_described_without_business(tmp_path: Path) -> None:
    from gateway.core.plan import Target

    assert describe_target(Target(Duration.parse("30m"), WALL), "en") == "30 minutes"
    assert describe_target(Target(Duration.parse("30m"), WALL), "ja") == "30分"


@pytest.mark.parametrize("bad", ["", "4x", "h", "1.5h", "-1h"])
def test_durations_that_are_not_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        Duration.parse(bad)
