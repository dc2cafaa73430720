"""Built-in support plans as data files, plus operator-written plans from a directory.

Each plan is a TOML file; `calendars.toml` names the business calendars. Errors
name the file and the key, so an operator's plan fails at start-up, not at the
first incident.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from gateway.core.plan import (
    CLOCKS,
    Calendar,
    CustomerSideTerms,
    Downgrade,
    Duration,
    OffHours,
    Plan,
    Rung,
    SeverityTerms,
    Target,
)

BUILTIN_DIR = Path(str(files("gateway.plans")))  # package data of the wheel, an unzipped folder
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REPORT_POLICIES = ("per-agreement", "periodic-report", "none")
# Years of public holidays given to calendars (the SLA clock refuses dates outside them).
HOLIDAY_YEARS = (2000, 2060)


class PlanError(Exception):
    """A plan or calendar file is invalid; the message names the file and key."""


@dataclass(frozen=True)
class PlanBook:
    plans: dict[str, Plan]
    calendars: dict[str, Calendar]

    def get(self, name: str) -> Plan:
        try:
            return self.plans[name]
        except KeyError:
            raise PlanError(f"unknown plan {name!r} (known: {', '.join(sorted(self.plans))})") from None


def load_plans(extra_dir: Path | None = None) -> PlanBook:
    """Load the built-in plans, then any `*.toml` plans (and calendars.toml) in `extra_dir`."""
    raw_calendars: dict[str, tuple[Path, dict[str, Any]]] = {}
    raw_plans: dict[str, tuple[Path, dict[str, Any]]] = {}
    for directory in [BUILTIN_DIR] + ([extra_dir] if extra_dir else []):
        for path in sorted(directory.glob("*.toml")):
            data = _read(path)
            if path.name == "calendars.toml":
                raw_calendars.update({k: (path, v) for k, v in data.items()})
            else:
                raw_plans[str(data.get("name", path.stem))] = (path, data)
    calendars = {name: _calendar(name, path, data) for name, (path, data) in raw_calendars.items()}
    plans = {name: _plan(name, raw_plans, calendars) for name in raw_plans}
    return PlanBook(plans, calendars)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: {exc}") from None


def _calendar(name: str, path: Path, data: dict[str, Any]) -> Calendar:
    where = f"{path}: [{name}]"
    try:
        opens, closes = (time.fromisoformat(v) for v in data["hours"])
        closures = tuple(
            (_month_day(start), _month_day(end)) for start, end in data.get("closures", [])
        )
        return Calendar(
            name=name,
            timezone=str(data["timezone"]),
            weekdays=frozenset(_WEEKDAYS.index(d) for d in data["weekdays"]),
            opens=opens,
            closes=closes,
            holiday_country=data.get("holidays"),
            closures=closures,
            holidays=public_holidays(data["holidays"]) if data.get("holidays") else frozenset(),
            holiday_years=HOLIDAY_YEARS if data.get("holidays") else (0, 0),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise PlanError(f"{where}: {exc!r}") from None


@lru_cache(maxsize=8)
def public_holidays(country: str, years: tuple[int, int] = HOLIDAY_YEARS) -> frozenset[date]:
    """The country's public holidays (the `holidays` package) as plain dates, loaded once."""
    import holidays  # imported here: only calendars that name a country need it

    try:
        found = holidays.country_holidays(country, years=range(years[0], years[1] + 1))
    except NotImplementedError:
        raise ValueError(f"holidays: unknown country {country!r}") from None
    return frozenset(found.keys())


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def _plan(name: str, raw: dict[str, tuple[Path, dict[str, Any]]], calendars: dict[str, Calendar]) -> Plan:
    path, data = raw[name]
    if "inherits" in data:
        parent_name = data["inherits"]
        if parent_name not in raw or parent_name == name:
            raise PlanError(f"{path}: inherits: unknown plan {parent_name!r}")
        merged = {**raw[parent_name][1], **data, "name": name}
        merged.pop("inherits")
        raw = {**raw, name: (path, merged)}
        data = merged
    key = "calendar"
    try:
        calendar = calendars[data["calendar"]]
        key = "severity"
        severities = {int(level): _terms(terms) for level, terms in data["severity"].items()}
        if sorted(severities) != [1, 2, 3, 4]:
            raise ValueError("needs exactly severities 1, 2, 3 and 4")
        key = "customer_side"
        side = data["customer_side"]
        customer_side = CustomerSideTerms(
            Duration.parse(side["timeout"]), tuple(Duration.parse(r) for r in side.get("reminders", []))
        )
        key = "off_hours"
        off_hours = _off_hours(data["off_hours"], calendars) if "off_hours" in data else None
        key = "periodic_report"
        periodic = data.get("periodic_report")
        if periodic and not _tiles_the_year(Duration.parse(periodic)):
            raise ValueError(f"{periodic!r}: use whole months that tile the year: 1mo, 3mo, 6mo or 12mo")
        if not periodic and any(t.status_report == "periodic-report" for t in severities.values()):
            raise ValueError('status_report = "periodic-report" needs a periodic_report (e.g. "3mo") to be in')
        return Plan(
            name=name,
            title=str(data.get("title", name)),
            calendar=calendar,
            response_met_by=tuple(data.get("response_met_by", ["engineer-reply"])),
            severities=severities,
            customer_side=customer_side,
            copy_tam_on_notices=bool(data.get("copy_tam_on_notices", False)),
            customer_escalation_ladder=tuple(data.get("customer_escalation_ladder", ())),
            periodic_report=Duration.parse(periodic) if periodic else None,
            workaround_downgrade=bool(data.get("workaround_downgrade", False)),
            engineer_escalation=data.get("engineer_escalation"),
            off_hours=off_hours,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise PlanError(f"{path}: {key}: {exc!r}") from None


def _tiles_the_year(every: Duration) -> bool:
    """Periodic reviews cover calendar periods (quarters for 3mo: gateway.core.periods)."""
    return every.months in (1, 3, 6, 12) and not (every.days or every.hours or every.minutes)


def _off_hours(data: dict[str, Any], calendars: dict[str, Calendar]) -> OffHours:
    """`[off_hours] on_duty = "rung"`, `hours = { tam = "calendar", ... }`: calendars by name."""
    hours = data.get("hours", {})
    unknown = [c for c in hours.values() if c not in calendars]
    if unknown:
        raise ValueError(f"hours: unknown calendar {unknown[0]!r} (known: {', '.join(sorted(calendars))})")
    return OffHours(str(data["on_duty"]), tuple((str(rung), calendars[c]) for rung, c in hours.items()))


def _target(data: dict[str, Any], duration_key: str) -> tuple[Duration, str]:
    clock = data["clock"]
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {CLOCKS}, not {clock!r}")
    return Duration.parse(data[duration_key]), clock


def _terms(data: dict[str, Any]) -> SeverityTerms:
    response = Target(*_target(data["response"], "within"))
    report_data = data.get("status_report", "none")
    if isinstance(report_data, str):
        if report_data not in _REPORT_POLICIES:
            raise ValueError(f"status_report must be a cadence or one of {_REPORT_POLICIES}")
        report: Target | str = report_data
    else:
        report = Target(*_target(report_data, "every"))
    rungs = tuple(Rung(r["rung"], *_target(r, "after")) for r in data.get("escalation", []))
    downgrade = None
    if "downgrade" in data:
        after, clock = _target(data["downgrade"], "after")
        downgrade = Downgrade(after, clock, int(data["downgrade"]["to"]))
    cap = data.get("status_report_at_most_every")
    return SeverityTerms(response, report, rungs, downgrade, Duration.parse(cap) if cap else None)
