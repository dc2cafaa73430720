"""apply(): turn a Decision into rows — incident, events, messages, outbox — in the caller's transaction.

The inbound row is marked in the same transaction, so a crash leaves either
nothing done (the mail is processed again) or everything done.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.core.model import Action, Decision
from gateway.mime import OutgoingMail, clean_header, new_message_id
from gateway.outbox import enqueue
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
from store.sql import insert_ignoring_duplicates, next_value

VENDOR_SIDE = "vendor"
OPEN = "open"


def apply(
    session: Session, app: App, inbound: InboundMessage, mail: ParsedMail, decision: Decision, now: datetime
) -> Incident | None:
    """Carry out one decision; return the incident it opened, if any."""
    inbound.processed_at = now
    inbound.reason = decision.reason
    if decision.action is Action.IGNORE:
        inbound.state = codes.IGNORED
        return None
    if decision.action is Action.HOLD:
        inbound.state = codes.QUARANTINED
        inbound.detail = f"held for an operator: {decision.reason} ({mail.from_addr or 'no From'})"
        return None
    incident = _open_incident(session, app, inbound, mail, decision, now)
    inbound.state = codes.PROCESSED
    inbound.incident_id = incident.id
    return incident


def _open_incident(
    session: Session, app: App, inbound: InboundMessage, mail: ParsedMail, decision: Decision, now: datetime
) -> Incident:
    customer, assessment = decision.customer, decision.assessment
    assert customer is not None and assessment is not None
    plan = app.plans.get(customer.plan)
    cues = [asdict(cue) for cue in assessment.cues]
    incident = Incident(
        number=next_value(session, "incident"),
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
    session.add(incident)
    session.flush()
    _event(session, incident, now, "opened", {
        "severity": incident.severity,
        "requested_severity": incident.requested_severity,
        "plan": plan.name,
        "customer": customer.key,
        "side": VENDOR_SIDE,
        "inbound_id": inbound.id,
        "cues": cues,
    })
    _record_inbound_message(session, incident, inbound, mail, now)
    _acknowledge(session, app, incident, mail, decision, now)
    return incident


def _event(session: Session, incident: Incident, now: datetime, kind: str, data: dict[str, object]) -> None:
    session.add(IncidentEvent(incident_id=incident.id, at=now, type=kind, data=data))


def _record_inbound_message(
    session: Session, incident: Incident, inbound: InboundMessage, mail: ParsedMail, now: datetime
) -> None:
    message = IncidentMessage(
        incident_id=incident.id,
        direction="in",
        inbound_id=inbound.id,
        message_id=mail.message_id,
        author=mail.from_addr,
        subject=mail.subject,
        body_text=mail.body_text,
        created_at=now,
    )
    session.add(message)
    session.flush()
    for attachment in mail.attachments:
        insert_ignoring_duplicates(session, AttachmentBlob.__table__, {
            "sha256": attachment.sha256, "size": attachment.size,
            "data": attachment.payload, "created_at": now,
        })
        session.add(MessageAttachment(
            incident_message_id=message.id,
            sha256=attachment.sha256,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            inline=attachment.inline,
        ))


def _acknowledge(
    session: Session, app: App, incident: Incident, mail: ParsedMail, decision: Decision, now: datetime
) -> None:
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
    row = enqueue(session, outgoing, kind=codes.KIND_ACK, now=now, incident_id=incident.id,
                  dedupe_key=f"{incident.id}:ack")
    session.add(IncidentMessage(
        incident_id=incident.id, direction="out", outbox_id=row.id, message_id=outgoing.message_id,
        author=app.sender_address, subject=rendered.subject, body_text=rendered.body, created_at=now,
    ))
    _event(session, incident, now, "notice", {"kind": codes.KIND_ACK, "to": list(outgoing.to),
                                               "outbox_id": row.id})
