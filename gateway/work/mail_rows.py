"""The rows a received mail becomes by itself: a new incident with its "opened" event, the mail as an
incident message with its attachments, the attachments' blobs, and the inbound row's new state.

Plain row builders for gateway.work.effects (which adds the letters) and the processor (which
writes the inbound rows in one bulk UPDATE); nothing here touches a session.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from gateway.app import App
from gateway.core.anomalies import anomalies_of, header_anomalies
from gateway.core.authenticity import as_record
from gateway.core.model import OPEN, VENDOR_SIDE, AuthVerdict, CustomerRef, Decision, IncidentState, SeverityAssessment
from parsers.model import ParsedMail
from store.incidents import Incident
from store.rows import NewAttachment, NewEvent, NewIncident, NewMessage

def incident_row(app: App, number: int, customer: CustomerRef, subject: str, assessment: SeverityAssessment,
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


def message_row(inbound_id: int, mail: ParsedMail, now: datetime, direction: str = "in",
                     body: str | None = None) -> NewMessage:
    message = NewMessage(
        direction=direction, inbound_id=inbound_id, message_id=mail.message_id, author=mail.from_addr,
        subject=mail.subject, body_text=mail.body_text if body is None else body, created_at=now,
    )
    message.attachments.extend(
        # Cut to the columns' sizes: a hostile 400+-character name must not fail the write on PostgreSQL.
        NewAttachment(sha256=a.sha256, filename=a.filename[:400] if a.filename else a.filename,
                      content_type=a.content_type[:200], size=a.size, inline=a.inline)
        for a in mail.attachments
    )
    return message


def blob_rows(mail: ParsedMail, now: datetime) -> list[dict[str, object]]:
    """The attachment_blobs rows of a mail whose message (with its attachments) is kept in an incident."""
    return [{"sha256": a.sha256, "size": a.size, "data": a.payload, "created_at": now} for a in mail.attachments]


def inbound_change(inbound_id: int, mail: ParsedMail | None, decision: Decision | None,
                   authentication: AuthVerdict | None, state: str, reason: str, detail: str | None,
                   incident: Incident | NewIncident | None, now: datetime) -> dict[str, object]:
    """The inbound row's new state and what was learned of the mail (one row of a bulk UPDATE)."""
    change: dict[str, object] = {
        "id": inbound_id, "state": state, "reason": reason, "detail": detail, "processed_at": now,
        "incident_id": incident.id if incident is not None else None,
        "authentication": as_record(authentication) if authentication is not None else None,
    }
    if mail is not None:
        anomalies = anomalies_of(mail, decision) if decision else header_anomalies(mail, contact=False)
        change.update(message_id=mail.message_id[:998] if mail.message_id else None,
                      from_addr=mail.from_addr[:320], subject=mail.subject[:2000],
                      anomalies=list(anomalies) or None)
    return change
