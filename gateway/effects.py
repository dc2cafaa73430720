"""plan() and apply(): turn a Decision into rows — incident, events, messages, outbox.

plan() builds the rows (linked by relationships, in no session yet); apply()
adds them in the caller's transaction together with the inbound row's new
state, so a crash leaves either nothing done (the mail is processed again) or
everything done, and a whole batch is written with one flush and one commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.core.model import Action, Decision
from gateway.mime import OutgoingMail, clean_header, new_message_id
from gateway.outbox import outbox_row
from gateway.render import describe_target
from parsers.model import ParsedMail
from store.incidents import (
    AttachmentBlob,
    Incident,
    IncidentEvent,
    IncidentMessage,
    MessageAttachment,
)
from store.inbound import InboundMessage
from store.outbox import OutboxMessage
from store.sql import insert_ignoring_duplicates

VENDOR_SIDE = "vendor"
OPEN = "open"
INCIDENT_COUNTER = "incident"


@dataclass
class Outcome:
    """What one decided mail becomes: the inbound row's new state and the rows to add.

    Built before the write transaction (rendering and MIME encoding are the slow
    part), so the transaction that holds SQLite's write lock only flushes.
    """

    state: str
    reason: str
    detail: str | None = None
    incident: Incident | None = None
    outbox: OutboxMessage | None = None
    blobs: list[dict[str, object]] = field(default_factory=list)


def plan(app: App, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime,
         number: int | None) -> Outcome:
    """Build the outcome of one decision; `number` is the incident number reserved for it, if it opens one."""
    if decision.action is Action.IGNORE:
        return Outcome(codes.IGNORED, decision.reason)
    if decision.action is Action.HOLD:
        return Outcome(codes.QUARANTINED, decision.reason,
                       f"held for an operator: {decision.reason} ({mail.from_addr or 'no From'})")
    if number is None:
        raise ValueError("an incident needs a reserved number")
    incident, outbox = _build_incident(app, number, inbound_id, mail, decision, now)
    blobs = [{"sha256": a.sha256, "size": a.size, "data": a.payload, "created_at": now} for a in mail.attachments]
    return Outcome(codes.PROCESSED, decision.reason, None, incident, outbox, blobs)


def opens_incident(decision: Decision) -> bool:
    return decision.action is Action.OPEN_INCIDENT


def apply(session: Session, inbound: InboundMessage, outcome: Outcome, now: datetime) -> None:
    """Write one outcome in the caller's transaction, marking the inbound row with it."""
    inbound.state, inbound.reason, inbound.detail, inbound.processed_at = (
        outcome.state, outcome.reason, outcome.detail, now)
    if outcome.incident is None:
        return
    session.add(outcome.incident)
    session.add(outcome.outbox)
    for blob in outcome.blobs:
        insert_ignoring_duplicates(session, AttachmentBlob.__table__, blob)
    inbound.incident = outcome.incident


def _build_incident(
    app: App, number: int, inbound_id: int, mail: ParsedMail, decision: Decision, now: datetime
) -> tuple[Incident, OutboxMessage]:
    customer, assessment = decision.customer, decision.assessment
    assert customer is not None and assessment is not None
    plan = app.plans.get(customer.plan)
    cues = [asdict(cue) for cue in assessment.cues]
    incident = Incident(
        number=number,
        customer_id=customer.customer_id,
        plan=plan.name,
        subject=clean_header(mail.subject, limit=500) or "(no subject)",
        severity=assessment.severity,
        requested_severity=assessment.requested_severity,
        cues=cues,
        status=OPEN,
        side=VENDOR_SIDE,  # support-programs.md §2: a new incident is ours to answer
        opened_by=mail.from_addr,
        opened_at=now,
        updated_at=now,
    )
    incident.events.append(IncidentEvent(at=now, type="opened", data={
        "severity": incident.severity,
        "requested_severity": incident.requested_severity,
        "plan": plan.name,
        "customer": customer.key,
        "side": VENDOR_SIDE,
        "inbound_id": inbound_id,
        "cues": cues,
    }))
    incident.messages.append(_inbound_message(inbound_id, mail, now))
    outbox = _acknowledge(app, incident, mail, decision, now)
    return incident, outbox


def _inbound_message(inbound_id: int, mail: ParsedMail, now: datetime) -> IncidentMessage:
    message = IncidentMessage(
        direction="in",
        inbound_id=inbound_id,
        message_id=mail.message_id,
        author=mail.from_addr,
        subject=mail.subject,
        body_text=mail.body_text,
        created_at=now,
    )
    message.attachments.extend(
        MessageAttachment(sha256=a.sha256, filename=a.filename, content_type=a.content_type,
                          size=a.size, inline=a.inline)
        for a in mail.attachments
    )
    return message


def _acknowledge(
    app: App, incident: Incident, mail: ParsedMail, decision: Decision, now: datetime
) -> OutboxMessage:
    customer, assessment = decision.customer, decision.assessment
    assert customer is not None and assessment is not None
    plan = app.plans.get(customer.plan)
    rendered = app.renderer.render(
        "ack",
        customer.locale,
        incident={"ref": incident.ref, "subject": incident.subject, "severity": incident.severity,
                  "requested_severity": incident.requested_severity},
        customer={"name": customer.name, "key": customer.key},
        contact_name=mail.from_name,
        plan={"name": plan.name, "title": plan.title},
        response_target=describe_target(plan.terms(incident.severity).response, customer.locale),
        ask_phone=assessment.ask_phone,
        phone=app.settings.gateway.phone,
        gateway_name=app.settings.gateway.name,
    )
    references = (*mail.references, mail.message_id) if mail.message_id else mail.references
    outgoing = OutgoingMail(
        mail_from=app.sender_address,
        from_name=app.settings.gateway.name,
        to=(mail.from_addr,),
        subject=rendered.subject,
        body=rendered.body,
        message_id=new_message_id(app.sender_domain),
        date=now,
        charset=customer.charset,
        in_reply_to=mail.message_id,
        references=tuple(references),
        loop_marker=app.settings.gateway.loop_marker,
        reply_to=app.sender_address,
    )
    row = outbox_row(outgoing, kind=codes.KIND_ACK, now=now, incident=incident,
                  dedupe_key=f"{incident.ref}:ack")
    incident.messages.append(IncidentMessage(
        direction="out", outbox=row, message_id=outgoing.message_id, author=app.sender_address,
        subject=rendered.subject, body_text=rendered.body, created_at=now,
    ))
    incident.events.append(IncidentEvent(at=now, type="notice", data={
        "kind": codes.KIND_ACK, "to": list(outgoing.to), "message_id": outgoing.message_id}))
    return row
