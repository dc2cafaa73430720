"""The letters the SLA clock's due items become: status, escalation, downgrade, reminder, timeout.

One function per kind builds a Letter (gateway.outbound.letters) from the incident as the
core sees it and the clock's reading; the scheduler writes them. Times are shown
in the plan calendar's zone, so a Japanese desk reads JST and a customer of a
Kaspersky office in another zone reads that zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway import codes
from gateway.app import App
from gateway.core.business_time import after
from gateway.core.model import IncidentState
from gateway.core.plan import WALL, Plan
from gateway.core.sla import Due, SlaView
from gateway.outbound.letters import Letter, tam_copies


def local_time(plan: Plan, at: datetime | None) -> str:
    """'2026-11-30 12:30 JST' in the plan calendar's zone."""
    if at is None:
        return "-"
    return at.astimezone(ZoneInfo(plan.calendar.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def span_text(amount: timedelta, locale: str) -> str:
    """'3 h 20 min' / '3時間20分'; days shown for long spans."""
    minutes = int(amount.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if locale == "ja":
        return (f"{days}日" if days else "") + (f"{hours}時間" if hours else "") + f"{mins}分"
    return (f"{days} d " if days else "") + (f"{hours} h " if hours else "") + f"{mins} min"


def tam_copy(app: App, state: IncidentState, plan: Plan) -> tuple[str, ...]:
    """seeds/000 §4.1: on the TAM plan the customer's TAM is copied on every notice (escalations too)."""
    return tam_copies(app, state.customer_key)


def _incident(state: IncidentState) -> dict[str, Any]:
    return {"ref": state.ref, "subject": state.subject, "severity": state.severity, "side": state.side,
            "status": state.status, "plan": state.plan}


def to_customer(app: App, state: IncidentState, plan: Plan, kind: str, key: str, context: dict[str, Any],
                event_data: dict[str, Any]) -> Letter:
    """A scheduled letter to the customer's last writer, threaded to their mail (letters.write adds the TAM)."""
    thread = state.customer_thread
    recipients = (state.last_customer_author or state.opened_by,)
    return Letter(kind, kind, state.locale, state.charset, recipients, state.number, "out", {
        "incident": _incident(state), "customer": {"name": state.customer_name},
        "plan": {"name": plan.name, "title": plan.title}, **context,
    }, state.last_customer_message_id or (thread[-1] if thread else None), thread, dedupe_key=key,
        event_data=event_data, customer_key=state.customer_key)


def status_letter(app: App, state: IncidentState, plan: Plan, item: Due, view: SlaView,
                  last_activity: datetime, key: str) -> Letter:
    following = next((d.at for d in view.upcoming if d.kind == item.kind), None)
    return to_customer(app, state, plan, codes.KIND_STATUS, key, {
        "last_activity": local_time(plan, last_activity), "next_report": local_time(plan, following)
        if following else ""}, {"key": item.short_key, "cycle": item.cycle})


def customer_side_letter(app: App, state: IncidentState, plan: Plan, item: Due, since: datetime,
                         key: str, context: dict[str, Any] | None = None) -> Letter:
    """Downgrade, reminder or timeout: all count from the start of the customer-side stretch."""
    closes = after(plan.calendar, since, plan.customer_side.timeout, WALL)
    return to_customer(app, state, plan, item.kind, key, {
        "since": local_time(plan, since), "closes": local_time(plan, closes),
        "waited": span_text(item.at - since, state.locale), **(context or {})},
        {"key": item.short_key, "rung": item.rung})


def escalation_letter(app: App, state: IncidentState, plan: Plan, rung: str, view: SlaView | None,
                      key: str | None,
                      context: dict[str, Any], event_data: dict[str, Any]) -> Letter | None:
    """Internal: to the rung's recipients (settings [escalation]), else the engineers' queue."""
    recipients = list(app.settings.escalation.get(rung, []))
    if rung == "tam":
        recipients += list(tam_copy(app, state, plan)) or _customer_tam(app, state)
    else:
        recipients += tam_copy(app, state, plan)
    if not recipients and app.settings.engineers.queue_address:
        recipients.append(app.settings.engineers.queue_address)
    if not recipients:
        return None
    locale = app.settings.engineers.locale
    response = local_time(plan, view.response_due) if view else "-"
    if view is not None and view.response_met_at is not None:
        response += f" (met {local_time(plan, view.response_met_at)})"
    elif view is not None and view.response_breached:
        response += " (BREACHED)"
    return Letter(codes.KIND_ESCALATION, "escalation", locale, "utf-8", tuple(dict.fromkeys(recipients)),
                  state.number, "internal", {
                      "incident": _incident(state), "customer": {"name": state.customer_name,
                                                                 "key": state.customer_key},
                      "rung": rung, "opened": local_time(plan, view.opened_at) if view else "-",
                      "response": response,
                      "vendor_time": span_text(view.vendor_time, locale) if view else "-",
                      "customer_time": span_text(view.customer_time, locale) if view else "-",
                      "by_customer": False, "by_engineer": "", "level": 0, "threshold": "",
                      **context,
                  }, dedupe_key=key, event_data={"rung": rung, **event_data})


def _customer_tam(app: App, state: IncidentState) -> list[str]:
    customer = next((c for c in app.settings.customers if c.key == state.customer_key), None)
    return [customer.tam] if customer is not None and customer.tam else []
