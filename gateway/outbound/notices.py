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
from gateway.core.escalation import on_duty_instead
from gateway.core.model import CLOSED, EngineerReply, Event, IncidentState
from gateway.core.plan import WALL, Plan, Target
from gateway.core.sla import ClockEvent, Due, SlaView
from gateway.core.status_prompt import report_text
from gateway.outbound.engineer_thread import thread_root
from gateway.outbound.letter import INTERNAL, TO_CUSTOMER, TO_QUEUE, Letter, customer_tam, local_time, span_text, tam_copies
from gateway.render import describe_target


def for_due(app: App, state: IncidentState, plan: Plan, item: Due, view: SlaView, key: str, *,
            customer_side_since: datetime | None, last_activity: datetime, now: datetime) -> Letter | None:
    """The letter one due item causes, or None (a passed response target tells nobody yet).

    `state` is the incident as the item found it; a downgrade's and a timeout's
    letters tell of the state the item leaves (the new severity, closed).
    `customer_side_since` is when the current customer-side stretch began (None
    if the incident is on the vendor side).
    """
    if item.kind == sla.RESPONSE:
        return breach_letter(app, state, plan, view, key, {"key": item.short_key})
    if item.kind == sla.STATUS:
        following = next((d.at for d in view.upcoming if d.kind == item.kind), None)
        text, author = report_text(state.clock_log)  # issue 14: the engineer's #status, used once
        return _scheduled(state, plan, codes.KIND_STATUS, key, {
            "last_activity": local_time(plan, last_activity),
            "next_report": local_time(plan, following) if following else "", "engineer_text": text},
            {"key": item.short_key, "cycle": item.cycle, **({"shaped_by": author} if text else {})})
    if item.kind == sla.ESCALATION:
        threshold = next((r for r in plan.terms(state.severity).escalation if r.rung == item.rung), None)
        return escalation_letter(app, state, plan, item.rung, view, key,
                                 {"threshold": threshold.after.text if threshold else ""}, {"key": item.short_key},
                                 at=now)
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
                      key: str | None, context: dict[str, Any], event_data: dict[str, Any],
                      at: datetime | None = None, copy_tam: bool = False) -> Letter | None:
    """Internal: to the rung's recipients (settings [escalation]), else the engineers' queue.

    The `tam` rung goes to the customer's TAM; on a plan that copies the TAM
    (seeds/000 §4.1) every rung does. The clock's reading is shown when the
    clock escalated; an engineer's or a customer's escalation has none.
    """
    event_data = {"rung": rung, **event_data}
    recipients = rung_recipients(app, state, rung, plan, at, event_data, copy_tam)
    if not recipients and app.settings.engineers.queue_address:
        recipients.append(app.settings.engineers.queue_address)
    if not recipients:
        return None
    locale = app.settings.engineers.locale
    clock = _rung_clock(plan, state.severity, rung)
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
                      "vendor_time": span_text(view.side_time_on(sla.VENDOR, clock), locale) if view else "-",
                      "customer_time": span_text(view.side_time_on(sla.CUSTOMER, clock), locale) if view else "-",
                      "clock": clock, "due": local_time(plan, view.response_due) if view else "-",
                      "by_customer": False, "by_engineer": "", "level": 0, "threshold": "", "reason": "",
                      "words": "",
                      **context,
                  }, thread_root(app, state.number), (thread_root(app, state.number),),  # the engineers' thread
                  dedupe_key=key, event_data=event_data)


QUEUE_COPIED = (sla.DOWNGRADE, sla.TIMEOUT, sla.REMINDER)  # automatic changes the engineers must see


def queue_copy(app: App, state: IncidentState, plan: Plan, item: Due, key: str, customer_letter: Letter,
               thread: tuple[str, ...]) -> Letter | None:
    """Issue 14: one short line to the engineers' queue for a downgrade, a timeout close or a reminder sent,
    in the incident's one engineers' thread (issue 11: its root is the first notice; `thread`, the
    queue's earlier Message-IDs, is no longer needed for that)."""
    queue = app.settings.engineers.queue_address
    if queue is None or item.kind not in QUEUE_COPIED:
        return None
    return Letter(codes.KIND_CLOCK_CHANGE, "clock-change", app.settings.engineers.locale, "utf-8", (queue,),
                  state.number, TO_QUEUE, {
                      "incident": _incident(state), "customer": {"name": state.customer_name,
                                                                 "key": state.customer_key},
                      "change": item.kind, "severity": customer_letter.context.get("severity", state.severity),
                      "sent_to": list(customer_letter.to), "at": local_time(plan, item.at),
                      "waited": customer_letter.context.get("waited", ""),
                  }, thread_root(app, state.number),  # under the first notice, like every engineers' letter
                  tuple(dict.fromkeys((thread_root(app, state.number), *thread))), dedupe_key=f"{key}:queue",
                  event_data={"change": item.kind})


def _rung_clock(plan: Plan, severity: int, rung: str) -> str:
    """The clock a rung is counted on: its own for the SLA clock's rungs, else the severity's response clock."""
    own = next((r.clock for r in plan.terms(severity).escalation if r.rung == rung), None)
    return own or plan.terms(severity).response.clock


def clock_view(app: App, state: IncidentState, events: tuple[Event, ...], now: datetime | None) -> SlaView | None:
    """The clock's reading after a mail's events (recorded at `now`): what a letter written on mail shows."""
    if not state.clock_log or now is None:
        return None
    log = [*state.clock_log, *(ClockEvent(now, e.type, e.data) for e in events)]
    return sla.evaluate(log, app.plan_for(state.plan, state.customer_key), now)


def severity_facts(app: App, state: IncidentState, view: SlaView | None, reply: EngineerReply) -> dict[str, Any]:
    """Issue 14 / Sophos §5.1 note: the new response deadline (unless this very mail answers), and for
    severity 1 or 2 the request to phone."""
    plan = app.plan_for(state.plan, state.customer_key)
    answers = reply.relay_text is not None and sla.MET_BY_REPLY in plan.response_met_by
    due = None
    if view is not None and view.response_met_at is None and not answers:
        due = view.response_due
    return {"response_due": local_time(plan, due) if due else "",
            "response_target": describe_target(plan.terms(state.severity).response, state.locale),
            "ask_phone": state.severity <= 2, "phone": app.settings.gateway.phone}


def rung_recipients(app: App, state: IncidentState, rung: str, plan: Plan | None = None,
                    at: datetime | None = None, data: dict[str, Any] | None = None,
                    copy_tam: bool = False) -> list[str]:
    """Who a rung's notice goes to: settings [escalation], the TAM for `tam` (and every rung on the TAM plan).

    Off hours (plan `[off_hours]`, seeds/002 §3): when the rung's person is off
    at `at`, the on-duty rung's recipients get it instead and the customer's TAM
    a copy to read in the morning; `data` (the notice event's) records the reroute.
    """
    on_duty = on_duty_instead(plan, rung, at) if plan is not None else None
    if on_duty is not None:
        if data is not None:
            data.update({"off_hours": True, "on_duty": on_duty, "instead_of": rung})
        rung = on_duty
    recipients = list(app.settings.escalation.get(rung, []))
    copies = tam_copies(app, state.customer_key)
    recipients += copies or (customer_tam(app, state.customer_key) if rung == "tam" or on_duty or copy_tam else ())
    return list(dict.fromkeys(recipients))


def assignee_address(app: App, assignee: str | None) -> str | None:
    """The assigned engineer's mailbox: `#assign` names an address, or the local part of an [engineers] one."""
    if not assignee:
        return None
    if "@" in assignee:
        return assignee
    return next((a for a in app.settings.engineers.addresses if a.split("@")[0].lower() == assignee.lower()), None)


def breach_letter(app: App, state: IncidentState, plan: Plan, view: SlaView, key: str,
                  event_data: dict[str, Any]) -> Letter | None:
    """Issue 14: a missed response target, told at the due minute to the assigned engineer (else the
    engineers' queue) and to the plan's first escalation rung for the severity (support-programs.md §5)."""
    rungs = plan.terms(state.severity).escalation
    first = rungs[0].rung if rungs else ""
    owner = assignee_address(app, state.assignee) or app.settings.engineers.queue_address
    event_data = {"rung": first, **event_data}
    rung = rung_recipients(app, state, first, plan, view.now, event_data) if first else []
    recipients = list(dict.fromkeys([*([owner] if owner else []), *rung]))
    if not recipients:
        return None
    locale = app.settings.engineers.locale
    target = plan.terms(state.severity).response
    return Letter(codes.KIND_BREACH, "breach", locale, "utf-8", tuple(recipients), state.number, INTERNAL, {
        "incident": _incident(state), "customer": {"name": state.customer_name, "key": state.customer_key},
        "opened": local_time(plan, view.opened_at), "due": local_time(plan, view.response_due),
        "target": describe_target(target, locale), "assignee": state.assignee or "", "rung": first,
    }, thread_root(app, state.number), (thread_root(app, state.number),),  # the engineers' thread (issue 11)
        dedupe_key=key, event_data=event_data)


def _incident(state: IncidentState) -> dict[str, Any]:
    return {"ref": state.ref, "subject": state.subject, "severity": state.severity, "side": state.side,
            "status": state.status, "plan": state.plan}


def _scheduled(state: IncidentState, plan: Plan, kind: str, key: str, context: dict[str, Any],
               event_data: dict[str, Any]) -> Letter:
    """A scheduled letter to the customer's last writer, threaded to their mail (compose.write adds the TAM)."""
    thread = state.customer_thread
    recipients = (state.last_customer_author or state.opened_by,)
    return Letter(kind, kind, state.locale, state.charset, recipients, state.number, TO_CUSTOMER, {
        "incident": _incident(state), "customer": {"name": state.customer_name}, "contact_name": state.contact_name,
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
