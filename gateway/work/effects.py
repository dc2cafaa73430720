"""plan() and apply(): turn a Decision into rows — incidents, events, messages, outbox.

plan() builds the rows without a session: new incidents (linked by
relationships), or an IncidentUpdate for an existing one. The processor writes
them in one transaction together with the inbound rows' new states (updates
through apply_update(), new incidents with a few bulk INSERTs), so a crash
leaves either nothing done (the mail is processed again) or everything done.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.core import commands as cmd
from gateway.core.model import (
    OPEN,
    VENDOR_SIDE,
    Action,
    CustomerEscalation,
    CustomerRef,
    Decision,
    IncidentState,
    SeverityAssessment,
)
from gateway.core.sla import first_response_due
from gateway.outbound.letters import Letter, Written, thread_of, write
from gateway.outbound.mime import clean_header
from gateway.outbound.notices import escalation_letter, local_time
from gateway.render import describe_target
from parsers.model import ParsedMail
from parsers.subject import base_subject
from store.incidents import Incident
from store.rows import Attach, NewAttachment, NewEvent, NewIncident, NewMessage, NewOutbox

INCIDENT_COUNTER = "incident"


@dataclass
class IncidentUpdate:
    """Changes to an existing incident, applied only if it is still as the decision saw it."""

    incident_id: int
    version: tuple[str, str, int, str | None]  # IncidentState.version the decision was based on
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    outbox: list[NewOutbox] = field(default_factory=list)


@dataclass
class Outcome:
    """What one decided mail becomes: the inbound row's new state and the rows to add.

    Built before the write transaction (rendering and MIME encoding are the slow
    part), so the transaction that holds SQLite's write lock only flushes.
    """

    state: str
    reason: str
    detail: str | None = None
    incidents: list[NewIncident] = field(default_factory=list)  # new ones, the mail's own first
    update: IncidentUpdate | None = None
    outbox: list[NewOutbox] = field(default_factory=list)  # rows tied to no incident
    blobs: list[dict[str, object]] = field(default_factory=list)


def new_incidents(decision: Decision) -> int:
    """How many incident numbers the decision needs reserved."""
    return decision.new_incidents


def plan(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime,
         numbers: list[int]) -> Outcome:
    """Build the outcome of one decision; `numbers` are the incident numbers reserved for it."""
    if len(numbers) != decision.new_incidents:
        raise ValueError(f"the decision needs {decision.new_incidents} incident number(s), got {len(numbers)}")
    if decision.action is Action.IGNORE:
        return Outcome(codes.IGNORED, decision.reason)
    if decision.action is Action.HOLD:
        return _hold(app, mail, decision, now)
    if decision.action is Action.COMMAND_ERROR:
        return _command_error(app, inbound_id, mail, decision, now)
    outcome = Outcome(codes.PROCESSED, decision.reason)
    if decision.action is Action.OPEN_INCIDENT:
        outcome.incidents.append(_open(app, numbers[0], inbound_id, mail, decision, now))
    elif decision.action is Action.CUSTOMER_REPLY:
        outcome.update = _customer_reply(app, inbound_id, mail, decision, now)
    else:
        outcome.update = _engineer_reply(app, inbound_id, mail, decision, now)
        outcome.incidents.extend(_split(app, decision, numbers, now))
    outcome.blobs = [{"sha256": a.sha256, "size": a.size, "data": a.payload, "created_at": now}
                     for a in mail.attachments]
    return outcome


def apply_update(session: Session, incident: Incident, update: IncidentUpdate) -> None:
    """Apply an update to an existing incident (loaded, locked and checked) in the caller's session.

    New incidents and their rows do not go through the session: the processor
    inserts a whole batch of them with store.bulk.insert_new_incidents.
    """
    for name, value in update.changes.items():
        setattr(incident, name, value)
    attach = Attach(incident)
    incident.events.extend(attach.event(event) for event in update.events)
    incident.messages.extend(attach.message(message) for message in update.messages)
    session.add_all([attach.outbox(row) for row in update.outbox])


# -- held mail ---------------------------------------------------------------------------------


def _hold(app: App, mail: ParsedMail, decision: Decision, now: datetime) -> Outcome:
    outcome = Outcome(codes.QUARANTINED, decision.reason,
                      f"held for an operator: {decision.reason} ({mail.from_addr or 'no From'})")
    if decision.held_reply and decision.customer is not None:
        customer = decision.customer
        in_reply_to, references = thread_of(mail.message_id, mail.references)
        written = write(app, Letter(
            codes.KIND_HELD, "held", customer.locale, customer.charset, (mail.from_addr,), None, "out",
            {"customer": {"name": customer.name}, "subject": clean_header(mail.subject, 200),
             "contact_name": mail.from_name}, in_reply_to, references), now)
        outcome.outbox.append(written.outbox)
    return outcome


# -- a new incident ----------------------------------------------------------------------------


def _open(app: App, number: int, inbound_id: int, mail: ParsedMail, decision: Decision,
          now: datetime) -> NewIncident:
    customer, assessment, linked = decision.customer, decision.assessment, decision.linked_to
    assert customer is not None and assessment is not None
    subject = linked.subject if linked else clean_header(base_subject(mail.subject), limit=500)
    incident = _incident(app, number, customer, subject or "(no subject)", assessment, mail.from_addr, now,
                         linked, "recurrence", inbound_id)
    incident.messages.append(_inbound_message(inbound_id, mail, now))
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    _add(incident, write(app, _ack(app, incident, customer, assessment, mail.from_name, mail.from_addr,
                                   linked, "recurrence", in_reply_to, references), now))
    _notify(app, incident, incident, customer, "recurrence" if linked else "new", mail.from_addr,
            decision.text, now, linked)
    return incident


def _incident(app: App, number: int, customer: CustomerRef, subject: str, assessment: SeverityAssessment,
              opened_by: str, now: datetime, linked: IncidentState | None, why: str,
              inbound_id: int | None) -> NewIncident:
    plan_ = app.plans.get(customer.plan)
    cues = [asdict(cue) for cue in assessment.cues]
    incident = NewIncident(
        number=number, customer_id=customer.customer_id, plan=plan_.name, subject=subject,
        severity=assessment.severity, requested_severity=assessment.requested_severity, cues=cues,
        status=OPEN,
        side=VENDOR_SIDE,  # support-programs.md §2: a new incident is ours to answer
        opened_by=opened_by, opened_at=now, updated_at=now,
        linked_to_id=linked.id if linked else None,
    )
    data: dict[str, Any] = {
        "severity": incident.severity, "requested_severity": incident.requested_severity, "plan": plan_.name,
        "customer": customer.key, "side": VENDOR_SIDE, "inbound_id": inbound_id, "cues": cues,
    }
    if linked is not None:
        data["linked_to"], data["why"] = linked.ref, why
    incident.events.append(NewEvent(at=now, type="opened", data=data))
    return incident


def _ack(app: App, incident: NewIncident, customer: CustomerRef, assessment: SeverityAssessment,
         contact_name: str, to: str, linked: IncidentState | None, why: str, in_reply_to: str | None,
         references: tuple[str, ...]) -> Letter:
    plan_ = app.plans.get(customer.plan)
    return Letter(codes.KIND_ACK, "ack", customer.locale, customer.charset, (to,), incident.number, "out", {
        "incident": {"ref": incident.ref, "subject": incident.subject, "severity": incident.severity,
                     "requested_severity": incident.requested_severity},
        "customer": {"name": customer.name, "key": customer.key},
        "contact_name": contact_name,
        "plan": {"name": plan_.name, "title": plan_.title},
        "response_target": describe_target(plan_.terms(incident.severity).response, customer.locale),
        # The real deadline on the plan's calendar (issue 5): nights, weekends, holidays skipped.
        "response_due": local_time(plan_, first_response_due(app.plan_for(plan_.name, customer.key),
                                                             incident.severity, incident.opened_at)),
        "ask_phone": assessment.ask_phone,
        "phone": app.settings.gateway.phone,
        "linked": {"ref": linked.ref, "why": why} if linked else None,
    }, in_reply_to, references, dedupe_key=f"{incident.ref}:ack", customer_key=customer.key)


def _add(incident: NewIncident, written: Written, event: bool = True) -> None:
    written.outbox.incident = incident
    incident.messages.append(written.message)
    if event:
        incident.events.append(written.event)


def _notify(app: App, target: NewIncident | IncidentUpdate, incident: NewIncident | IncidentState,
            customer: CustomerRef | IncidentState, what: str, author: str, text: str, now: datetime,
            linked: IncidentState | None = None) -> None:
    """Tell the engineers' queue (if configured) about a new incident or a customer reply."""
    queue = app.settings.engineers.queue_address
    if queue is None:
        return
    name = customer.name if isinstance(customer, CustomerRef) else customer.customer_name
    key = customer.key if isinstance(customer, CustomerRef) else customer.customer_key
    written = write(app, Letter(codes.KIND_NOTIFY, "notify", app.settings.engineers.locale, "utf-8", (queue,),
                                incident.number, "notify", {
        "what": what,
        "incident": {"ref": f"INC-{incident.number:06d}", "subject": incident.subject,
                     "severity": incident.severity, "side": incident.side, "status": incident.status,
                     "plan": incident.plan},
        "customer": {"name": name, "key": key},
        "author": author,
        "text": text,
        "linked": linked.ref if linked else None,
    }), now)
    if isinstance(target, NewIncident):
        _add(target, written)
    else:
        _add_to_update(target, written)


def _inbound_message(inbound_id: int, mail: ParsedMail, now: datetime, direction: str = "in",
                     body: str | None = None) -> NewMessage:
    message = NewMessage(
        direction=direction, inbound_id=inbound_id, message_id=mail.message_id, author=mail.from_addr,
        subject=mail.subject, body_text=mail.body_text if body is None else body, created_at=now,
    )
    message.attachments.extend(
        NewAttachment(sha256=a.sha256, filename=a.filename, content_type=a.content_type,
                      size=a.size, inline=a.inline)
        for a in mail.attachments
    )
    return message


# -- replies into an existing incident ----------------------------------------------------------


def _update(decision: Decision, inbound_id: int, now: datetime) -> IncidentUpdate:
    before, after = decision.incident, decision.after
    assert before is not None and after is not None
    changes: dict[str, Any] = {"updated_at": now}
    for name in ("status", "side", "severity", "assignee"):
        if getattr(after, name) != getattr(before, name):
            changes[name] = getattr(after, name)
    events = [NewEvent(at=now, type=e.type, data={**e.data, "inbound_id": inbound_id}) for e in decision.events]
    return IncidentUpdate(before.id, before.version, changes, events)


def _add_to_update(update: IncidentUpdate, written: Written, event: bool = True) -> None:
    update.outbox.append(written.outbox)
    update.messages.append(written.message)
    if event:
        update.events.append(written.event)


def _customer_reply(app: App, inbound_id: int, mail: ParsedMail, decision: Decision,
                    now: datetime) -> IncidentUpdate:
    update = _update(decision, inbound_id, now)
    update.messages.append(_inbound_message(inbound_id, mail, now))
    after = decision.after
    assert after is not None
    _notify(app, update, after, after, "reply", mail.from_addr, decision.text, now)
    if decision.customer_escalation is not None:
        _customer_escalation(app, update, after, decision.customer_escalation, now)
    return update


def _customer_escalation(app: App, update: IncidentUpdate, state: IncidentState, asked: CustomerEscalation,
                         now: datetime) -> None:
    """Kaspersky §3: tell the rung (internal) and acknowledge or explain the refusal to the customer."""
    plan_ = app.plans.get(state.plan)
    if asked.accepted:
        letter = escalation_letter(app, state, plan_, asked.rung, None, None,
                                   {"by_customer": True, "level": asked.level},
                                   {"level": asked.level, "by": "customer"})
        if letter is not None:
            _add_to_update(update, write(app, letter, now))
    _add_to_update(update, write(app, _to_customer(state, codes.KIND_ESCALATE_ACK, "escalate-ack", {
        "accepted": asked.accepted, "rung": asked.rung, "level": asked.level, "levels": asked.levels,
        "reason": asked.reason}), now))


def _engineer_reply(app: App, inbound_id: int, mail: ParsedMail, decision: Decision,
                    now: datetime) -> IncidentUpdate:
    update = _update(decision, inbound_id, now)
    reply, after = decision.engineer, decision.after
    assert reply is not None and after is not None
    update.messages.append(_inbound_message(inbound_id, mail, now, "engineer", decision.text))
    if reply.resolution is not None:
        update.changes.update(resolution=reply.resolution, resolved_at=now)
    if reply.severity_change is not None:
        before, level, reason = reply.severity_change
        _add_to_update(update, write(app, _to_customer(after, codes.KIND_SEVERITY, "severity-changed", {
            "before": before, "severity": level, "reason": reason}), now))
    rung = app.plans.get(after.plan).engineer_escalation
    if cmd.ESCALATE in reply.commands and rung:
        letter = escalation_letter(app, after, app.plans.get(after.plan), rung, None, None,
                                   {"by_engineer": mail.from_addr}, {"by": mail.from_addr})
        if letter is not None:
            _add_to_update(update, write(app, letter, now))
    if reply.resolution is not None:
        _add_to_update(update, write(app, _to_customer(after, codes.KIND_RESOLVED, "resolved", {
            "resolution": reply.resolution, "text": reply.relay_text or ""}), now))
    elif reply.relay_text is not None:
        _add_to_update(update, write(app, _to_customer(after, codes.KIND_RELAY, "relay", {
            "text": reply.relay_text}), now))
    return update


def _to_customer(state: IncidentState, kind: str, purpose: str, context: dict[str, Any]) -> Letter:
    """A letter to the customer's last writer, threaded to the customer's own mail."""
    thread = state.customer_thread
    return Letter(kind, purpose, state.locale, state.charset, (state.last_customer_author or state.opened_by,),
                  state.number, "out", {
                      "incident": {"ref": state.ref, "subject": state.subject, "severity": state.severity},
                      "customer": {"name": state.customer_name}, **context,
                  }, state.last_customer_message_id or (thread[-1] if thread else None), thread,
                  customer_key=state.customer_key)


def _command_error(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime) -> Outcome:
    """Only the engineer hears about it: no state, no event, nothing to the customer."""
    state = decision.incident
    assert state is not None
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    written = write(app, Letter(codes.KIND_COMMAND_ERROR, "command-error", app.settings.engineers.locale, "utf-8",
                                (mail.from_addr,), state.number, "internal", {
        "incident": {"ref": state.ref, "subject": state.subject}, "errors": list(decision.errors)},
        in_reply_to, references), now)
    update = IncidentUpdate(state.id, state.version)
    update.messages.append(_inbound_message(inbound_id, mail, now, "engineer", decision.text))
    _add_to_update(update, written, event=False)
    return Outcome(codes.PROCESSED, decision.reason, "; ".join(decision.errors)[:4000], update=update)


def _split(app: App, decision: Decision, numbers: list[int], now: datetime) -> list[NewIncident]:
    """support-programs.md §1 (000 §5.3): each listed problem becomes an incident, linked to the first."""
    state, reply = decision.incident, decision.engineer
    assert state is not None and reply is not None
    customer = CustomerRef(state.customer_id, state.customer_key, state.customer_name, state.plan,
                           state.locale, state.charset)
    created = []
    thread = state.customer_thread
    for number, item in zip(numbers, reply.splits, strict=True):
        incident = _incident(app, number, customer, clean_header(item.text, limit=500), item.assessment,
                             state.opened_by, now, state, "split", None)
        _add(incident, write(app, _ack(app, incident, customer, item.assessment, "",
                                       state.last_customer_author or state.opened_by, state, "split",
                                       state.last_customer_message_id, thread), now))
        _notify(app, incident, incident, customer, "split", state.opened_by, item.text, now, state)
        created.append(incident)
    return created
