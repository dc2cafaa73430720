"""enqueue(): how the gateway "sends" — one outbox row, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway import codes
from gateway.mime import OutgoingMail, build_message
from store.outbox import OutboxMessage


def enqueue(
    session: Session,
    mail: OutgoingMail,
    *,
    kind: str,
    now: datetime,
    incident_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        kind=kind,
        incident_id=incident_id,
        dedupe_key=dedupe_key,
        message_id=mail.message_id,
        mail_from=mail.mail_from,
        rcpt_tos=list(mail.to),
        raw=build_message(mail),
        state=codes.OUT_QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
