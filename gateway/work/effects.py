"""plan() and apply_update(): turn a Decision into rows — incidents, events, messages, outbox.

Which letters a decision causes is gateway.outbound.letters' answer; this module
only builds and attaches the rows. plan() builds them without a session: new
incidents (linked by relationships), or an IncidentUpdate for an existing one. The processor writes
them in one transaction together with the inbound rows' new states (updates
through apply_update(), new incidents with a few bulk INSERTs), so a crash
leaves either nothing done (the mail is processed again) or everything done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.work.mail_rows import blob_rows, incident_row, message_row
from gateway.core.model import (
    Action,
    Decision,
)
from gateway.outbound import engineer_letters, letters
from gateway.outbound.compose import write
from gateway.outbound.letter import Letter
from gateway.outbound.limits import Ledger, SentLetter
from gateway.outbound.mime import clean_header
from parsers.model import ParsedMail
from parsers.subject import base_subject
from store.bounces import mark_letter_bounced, record_bounce
from store.incidents import Incident
from store.rows import Attach, NewEvent, NewIncident, NewMessage, NewOutbox

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
    # A bounce of one of our letters (issue 13): (Message-ID, what bounced), and each failed recipient.
    bounced_letters: list[tuple[str, str]] = field(default_factory=list)
    bounces: list[dict[str, Any]] = field(default_factory=list)
    bounce_limit: int = 3


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
    sent: list[SentLetter] = field(default_factory=list)  # automatic letters, for the rate limits' memory


def new_incidents(decision: Decision) -> int:
    """How many incident numbers the decision needs reserved."""
    return decision.new_incidents


def plan(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime,
         numbers: list[int], sent: Ledger | None = None) -> Outcome:
    """Build the outcome of one decision; `numbers` are the incident numbers reserved for it.

    `sent` counts the automatic letters sent lately, for the rate limits (the
    processor passes the batch's; without it only this mail's own letters count).
    Letters it lets through are recorded in it.
    """
    sent = sent if sent is not None else Ledger(app.settings.limits, now)
    if len(numbers) != decision.new_incidents:
        raise ValueError(f"the decision needs {decision.new_incidents} incident number(s), got {len(numbers)}")
    if decision.action is Action.IGNORE:
        return Outcome(codes.IGNORED, decision.reason, decision.detail or None)
    if decision.action is Action.HOLD:
        return _hold(app, inbound_id, mail, decision, now, sent)
    if decision.action is Action.COMMAND_ERROR:
        return _command_error(app, inbound_id, mail, decision, now)
    if decision.action is Action.RECORD_BOUNCE:
        return _bounced(app, inbound_id, mail, decision, now)
    outcome = Outcome(codes.PROCESSED, decision.reason)
    if decision.action is Action.OPEN_INCIDENT:
        outcome.incidents.append(_open(app, numbers[0], inbound_id, mail, decision, now, sent))
    elif decision.action is Action.CUSTOMER_REPLY:
        outcome.update = _customer_reply(app, inbound_id, mail, decision, now, sent)
    else:
        outcome.update = _engineer_reply(app, inbound_id, mail, decision, now)
        outcome.incidents.extend(_split(app, decision, numbers, now))
    outcome.blobs = blob_rows(mail, now)
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
    for message_id, detail in update.bounced_letters:
        mark_letter_bounced(session, message_id, detail)
    for bounce in update.bounces:
        record_bounce(session, **bounce, limit=update.bounce_limit)


# -- held mail and command errors: no incident changes ------------------------------------------


def _hold(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime,
          sent: Ledger) -> Outcome:
    """Held for an operator: the polite reply to an unknown contact (unless a rate limit says no: then
    the detail says so), or the queue's line of a held engineer reply (never limited)."""
    outcome = Outcome(codes.QUARANTINED, decision.reason, _held_detail(mail, decision))
    planned = []
    for letter in letters.for_held_mail(app, decision, mail, sent):
        if letter.not_sent is not None:
            outcome.detail = f"{outcome.detail}; no reply sent: rate limit {letter.not_sent.rule('en')}"
            continue
        planned.append(letter)
        sent.record(letter)
    planned += letters.for_held_engineer_reply(app, decision, mail, inbound_id)
    outcome.outbox.extend(written.outbox for letter in planned for written in write(app, letter, now))
    return outcome


def _command_error(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime) -> Outcome:
    """The mail is kept in the incident; the explanation and the text go back to the engineer; nothing
    else changes and nothing is relayed (issue 11: nothing disappears silently).

    Its attachments are kept with it, so their blobs are written too (issue 10
    item 8: a screenshot-only reply failed its batch on the missing blob).
    """
    state = decision.incident
    assert state is not None
    update = IncidentUpdate(state.id, state.version)
    update.messages.append(message_row(inbound_id, mail, now, "engineer", decision.text))
    _attach(update, app, engineer_letters.for_command_error(app, decision, mail), now)
    return Outcome(codes.PROCESSED, decision.reason, "; ".join(decision.errors)[:4000], update=update,
                   blobs=blob_rows(mail, now))


def _held_detail(mail: ParsedMail, decision: Decision) -> str:
    """The inbound row's detail: why the decision held it, in words, or the reason and the sender."""
    return decision.detail or f"held for an operator: {decision.reason} ({mail.from_addr or 'no From'})"


def _bounced(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime) -> Outcome:
    """A letter of ours bounced: recorded on it and its incident, the engineers told, the addresses counted."""
    state, bounce, message_id = decision.incident, decision.bounce, decision.bounced_message_id
    assert state is not None and bounce is not None and message_id is not None
    recipients = [{"address": r.address, "status": r.status, "diagnostic": r.diagnostic, "hard": r.hard}
                  for r in bounce.recipients]
    summary = "; ".join(f"{r['address']} {r['status'] or ''} {r['diagnostic'] or ''}".strip() for r in recipients)
    update = IncidentUpdate(state.id, state.version, {"updated_at": now}, bounce_limit=app.policy.hard_bounce_limit)
    update.events.append(NewEvent(at=now, type="bounced", data={
        "message_id": message_id, "kind": bounce.kind, "recipients": recipients,
        "suppressed": list(decision.suppress), "inbound_id": inbound_id}))
    update.messages.append(message_row(inbound_id, mail, now, "bounce", summary or mail.body_text[:2000]))
    update.bounced_letters.append((message_id, f"bounced ({bounce.kind}): {summary}"))
    update.bounces = [{**{k: r[k] for k in ("address", "hard", "status", "diagnostic")}, "now": now}
                      for r in recipients]
    _attach(update, app, letters.for_bounce(app, decision), now)
    outcome = Outcome(codes.PROCESSED, decision.reason, summary[:4000] or None, update=update)
    outcome.blobs = blob_rows(mail, now)
    return outcome


# -- new incidents -------------------------------------------------------------------------------


def _open(app: App, number: int, inbound_id: int, mail: ParsedMail, decision: Decision,
          now: datetime, sent: Ledger) -> NewIncident:
    customer, assessment, linked = decision.customer, decision.assessment, decision.linked_to
    assert customer is not None and assessment is not None
    subject = linked.subject if linked else clean_header(base_subject(mail.subject), limit=500)
    incident = incident_row(app, number, customer, subject or "(no subject)", assessment, mail.from_addr, now,
                         linked, "recurrence", inbound_id)
    incident.messages.append(message_row(inbound_id, mail, now))
    _attach(incident, app, letters.for_new_incident(app, decision, mail, incident, sent), now, sent)
    return incident


def _split(app: App, decision: Decision, numbers: list[int], now: datetime) -> list[NewIncident]:
    """support-programs.md §1 (000 §5.3): each listed problem becomes an incident, linked to the first."""
    state, reply = decision.incident, decision.engineer
    assert state is not None and reply is not None
    customer = letters.customer_of(state)
    created = []
    for number, item in zip(numbers, reply.splits, strict=True):
        incident = incident_row(app, number, customer, clean_header(item.text, limit=500), item.assessment,
                             state.opened_by, now, state, "split", None)
        _attach(incident, app, letters.for_split_incident(app, decision, item, incident), now)
        created.append(incident)
    return created


# -- replies into an existing incident -----------------------------------------------------------


def _customer_reply(app: App, inbound_id: int, mail: ParsedMail, decision: Decision,
                    now: datetime, sent: Ledger) -> IncidentUpdate:
    update = _update(decision, inbound_id, now)
    update.messages.append(message_row(inbound_id, mail, now))
    _attach(update, app, letters.for_customer_reply(app, decision, mail, sent), now, sent)
    return update


def _engineer_reply(app: App, inbound_id: int, mail: ParsedMail, decision: Decision,
                    now: datetime) -> IncidentUpdate:
    update = _update(decision, inbound_id, now)
    reply = decision.engineer
    assert reply is not None
    update.messages.append(message_row(inbound_id, mail, now, "engineer", decision.text))
    if reply.resolution is not None:
        update.changes.update(resolution=reply.resolution, resolved_at=now)
    elif reply.reopened:  # `#reopen`: open again, no longer resolved (its clock resumes, gateway.core.sla)
        update.changes.update(resolution=None, resolved_at=None)
    _attach(update, app, engineer_letters.for_engineer_reply(app, decision, mail, now), now)
    return update


def _update(decision: Decision, inbound_id: int, now: datetime) -> IncidentUpdate:
    before, after = decision.incident, decision.after
    assert before is not None and after is not None
    changes: dict[str, Any] = {"updated_at": now}
    for name in ("status", "side", "severity", "assignee"):
        if getattr(after, name) != getattr(before, name):
            changes[name] = getattr(after, name)
    events = [NewEvent(at=now, type=e.type, data={**e.data, "inbound_id": inbound_id}) for e in decision.events]
    return IncidentUpdate(before.id, before.version, changes, events)


# -- rows ----------------------------------------------------------------------------------------


def _attach(target: NewIncident | IncidentUpdate, app: App, planned: list[Letter], now: datetime,
            sent: Ledger | None = None) -> None:
    """Write each letter and add its outbox row, its message and (if logged) its notice event.

    A letter a rate limit held back becomes a `not-sent` event instead, so `incidents show` tells.
    """
    for letter in planned:
        if letter.not_sent is not None:
            target.events.append(NewEvent(at=now, type=codes.EVENT_NOT_SENT, data=letter.not_sent.event_data()))
            continue
        if sent is not None:
            sent.record(letter)
        for written in write(app, letter, now):
            if isinstance(target, NewIncident):
                written.outbox.incident = target
            else:
                target.outbox.append(written.outbox)
            target.messages.append(written.message)
            if written.event is not None:
                target.events.append(written.event)
