"""outbox_row(): how the gateway "sends" — one outbox row, added in the transaction that caused it."""

from __future__ import annotations

from datetime import datetime

from gateway import codes
from gateway.outbound.mime import OutgoingMail, build_message, needs_smtputf8
from store.rows import NewOutbox


def outbox_row(
    mail: OutgoingMail,
    *,
    kind: str,
    now: datetime,
    dedupe_key: str | None = None,
) -> NewOutbox:
    """Build the outbox row; the caller writes it in the transaction that caused it."""
    row = NewOutbox(
        kind=kind,
        dedupe_key=dedupe_key,
        message_id=mail.message_id,
        mail_from=mail.mail_from,
        rcpt_tos=list(mail.to),
        raw=build_message(mail),
        needs_smtputf8=needs_smtputf8(mail),
        state=codes.OUT_QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    return row
