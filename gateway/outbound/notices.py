"""Which letter an item the SLA clock finds due causes: status, escalation, downgrade, reminder, timeout.

The clock-driven half of "who is told what" (gateway.outbound.letters is the
mail-driven half): `for_due` answers for every kind the clock produces, from the
incident as the core sees it (after any change the item made, e.g. the new
severity of a downgrade) and the clock's reading. Pure: the scheduler writes the
rows. Times are shown in the plan calendar's zone, so a Japanese desk reads JST
and a customer of a Kaspersky office in another zone reads that zone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from gateway import codes
from gateway.app import App
from gateway.core import sla
from gateway.core.business_time import after
from gateway.core.model import CLOSED, IncidentState
from gateway.core.plan import WALL, Plan, Target
from gateway.core.sla import Due, SlaView
from gateway.outbound.engineer_thread import thread_root
from gateway.outbound.letter import INTERNAL, TO_CUSTOMER, Letter, customer_tam, local_time, span_text, tam_copies
from gateway.render import describe_target


def for_due(app: App, state: IncidentState, plan: Plan, item: Due, view: SlaView, key: str, *,
            customer_side_since: datetime | None, last_activity: datetime, now: datetime) -> Letter | None:
    """The letter one due item causes, or None (a passed response target tells nobody yet).

    `state` is the incident as the item found it; a downgrade's and a timeout's
    letters tell of the state the item leaves (the new severity, closed).
    `customer_side_since` is when the current customer-side stretch began (None
    if the incident is on the vendor side).
    """
    if item.kind == sla.STATUS:
        following = next((d.at for d in view.upcoming if d.kind == item.kind), None)
        return _scheduled(state, plan, codes.KIND_STATUS, key, {
            "last_activity": local_time(plan, last_activity),
            "next_report": local_time(plan, following) if following else ""},
            {"key": item.short_key, "cycle": item.cycle})
    if item.kind == sla.ESCALATION:
        threshold = next((r for r in plan.terms(state.severity).escalation if r.rung == item.rung), None)
        return escalation_letter(app, state, plan, item.rung, view, key,
                                 {"threshold": threshold.after.text if threshold else ""}, {"key": item.short_key})
    if item.kind == sla.DOWNGRADE:
        rule, level = plan.terms(state.severity).downgrade, int(item.rung)
        return _customer_side(replace(state, severity=level), plan, item, customer_side_since or item.at, key, {
            "severity": level, "phone": app.settings.gateway.phone,
            "after": describe_target(Target(rule.after, rule.clock), state.locale) if rule else ""})
    if item.kind == sla.REMINDER:
        return _customer_side(state, plan, item, customer_side_since or now, key)
    if item.kind == sla.TIMEOUT:
        return _customer_side(replace(state, status=CLOSED), plan, item, customer_side_since or now, key)
    return None


def escalation_letter(app: App, state: IncidentState, plan: Plan, rung: str, view: SlaView | None,
                      key: str | None, context: dict[str, Any], event_data: dict[str, Any]) -> Letter | None:
    """Internal: to the rung's recipients (settings [escalation]), else the engineers' queue.

    The `tam` rung goes to the customer's TAM; on a plan that copies the TAM
    (seeds/000 §4.1) every rung does. The clock's reading is shown when the
    clock escalated; an engineer's or a customer's escalation has none.
    """
    recipients = list(app.settings.escalation.get(rung, []))
    copies = tam_copies(app, state.customer_key)
    recipients += copies or (customer_tam(app, state.customer_key) if rung == "tam" else ())
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
                  state.number, INTERNAL, {
                      "incident": _incident(state), "customer": {"name": state.customer_name,
                                                                 "key": state.customer_key},
                      "rung": rung, "opened": local_time(plan, view.opened_at) if view else "-",
                      "response": response,
                      "vendor_time": span_text(view.vendor_time, locale) if view else "-",
                      "customer_time": span_text(view.customer_time, locale) if view else "-",
                      "by_customer": False, "by_engineer": "", "level": 0, "threshold": "",
                      **context,
                  }, thread_root(app, state.number), (thread_root(app, state.number),),  # the engineers' thread
                  dedupe_key=key, event_data={"rung": rung, **event_data})


def _incident(state: IncidentState) -> dict[str, Any]:
    return {"ref": state.ref, "subject": state.subject, "severity": state.severity, "side": state.side,
            "status": state.status, "plan": state.plan}


def _scheduled(state: IncidentState, plan: Plan, kind: str, key: str, context: dict[str, Any],
               event_data: dict[str, Any]) -> Letter:
    """A scheduled letter to the customer's last writer, threaded to their mail (compose.write adds the TAM)."""
    thread = state.customer_thread
    recipients = (state.last_customer_author or state.opened_by,)
    return Letter(kind, kind, state.locale, state.charset, recipients, state.number, TO_CUSTOMER, {
        "incident": _incident(state), "customer": {"name": state.customer_name},
        "plan": {"name": plan.name, "title": plan.title}, **context,
    }, state.last_customer_message_id or (thread[-1] if thread else None), thread, dedupe_key=key,
        event_data=event_data, customer_key=state.customer_key)


def _customer_side(state: IncidentState, plan: Plan, item: Due, since: datetime, key: str,
                   context: dict[str, Any] | None = None) -> Letter:
    """Downgrade, reminder or timeout: all count from the start of the customer-side stretch."""
    closes = after(plan.calendar, since, plan.customer_side.timeout, WALL)
    return _scheduled(state, plan, item.kind, key, {
        "since": local_time(plan, since), "closes": local_time(plan, closes),
        "waited": span_text(item.at - since, state.locale), **(context or {})},
        {"key": item.short_key, "rung": item.rung})
