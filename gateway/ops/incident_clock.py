"""`incidents show`'s clock: what the SLA clock says of one incident now, for people and for --json.

Issue 11: an engineer asking "how long do I have?" must not read the event log.
The figures are gateway.core.sla.evaluate()'s, the same the scheduler acts on:
opened, severity (and what the customer asked for), side, time on each side,
response due and met, the next status report, the next escalation rung.
Times are shown in the plan calendar's zone (gateway.outbound.letter.local_time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from gateway.core.plan import Plan
from gateway.core.sla import ESCALATION, STATUS, ClockEvent, SlaView, evaluate
from gateway.outbound.letter import local_time


def clock_of(plan: Plan, events: Iterable[tuple[datetime, str, dict[str, Any]]], now: datetime,
             requested_severity: int | None) -> dict[str, Any] | None:
    """The clock as plain values (ISO times for --json, local times for the text), or None without events."""
    log = [ClockEvent(at, type_, data) for at, type_, data in events]
    if not log or log[0].type != "opened":
        return None
    view = evaluate(log, plan, now)
    report = _next(view, STATUS)
    rung = _next(view, ESCALATION)
    return {
        "now": now.isoformat(), "opened_at": view.opened_at.isoformat(), "status": view.status,
        "severity": view.severity, "requested_severity": requested_severity, "side": view.side,
        "vendor_seconds": int(view.vendor_time.total_seconds()),
        "customer_seconds": int(view.customer_time.total_seconds()),
        "response_due": _iso(view.response_due), "response_met_at": _iso(view.response_met_at),
        "next_status_report": _iso(report.at) if report else None,
        "next_escalation": {"rung": rung.rung, "at": rung.at.isoformat()} if rung else None,
        "due_now": [{"kind": d.kind, "rung": d.rung, "at": d.at.isoformat()} for d in view.due],
        "local": {
            "opened_at": local_time(plan, view.opened_at), "response_due": local_time(plan, view.response_due),
            "response_met_at": local_time(plan, view.response_met_at),
            "next_status_report": local_time(plan, report.at if report else None),
            "next_escalation": local_time(plan, rung.at if rung else None),
        },
    }


def format_clock(clock: dict[str, Any] | None) -> list[str]:
    """The clock's lines in `incidents show`."""
    if clock is None:
        return ["  clock:    (no events)"]
    local = clock["local"]
    asked = f" (customer asked {clock['requested_severity']})" if clock["requested_severity"] else ""
    met = f"response met {local['response_met_at']}" if clock["response_met_at"] else "response not met yet"
    rung = clock["next_escalation"]
    lines = [
        "  clock:",
        f"    opened:              {local['opened_at']}",
        f"    severity:            {clock['severity']}{asked}",
        f"    side:                {clock['side']} ({clock['status']})",
        f"    vendor-side time:    {_span(clock['vendor_seconds'])}",
        f"    customer-side time:  {_span(clock['customer_seconds'])}",
        f"    response due:        {local['response_due']}, {met}",
        f"    next status report:  {local['next_status_report']}",
        f"    next escalation:     " + (f"{rung['rung']} at {local['next_escalation']}" if rung else "-"),
    ]
    lines += [f"    due now:             {d['kind']} {d['rung']} (since {d['at']})" for d in clock["due_now"]]
    return lines


def _next(view: SlaView, kind: str) -> Any:
    return next((d for d in view.upcoming if d.kind == kind), None)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _span(seconds: int) -> str:
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    return (f"{days} d " if days else "") + f"{rest // 60} h {rest % 60} min"



