"""The outbox as an operator sees it: which rows are due, retrying, dead; one row; a retry.

Kept apart from the sender's own queries (store.outbox, gateway.outbound.sender) on purpose:
these are the operator's questions, and the one place to point at another query of dead or
undelivered rows should the sender grow one. States are gateway.codes' OUT_* strings, spelt
here so `store` stays below `gateway`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from store.incidents import Incident, incident_ref
from store.outbox import OutboxMessage

QUEUED, SENT, DEAD = "queued", "sent", "dead"
# What an operator filters by: `due` (queued and due now), `retrying` (queued after a failed
# attempt or one that could not be tried), `dead` (given up on), or a stored state as it is (sent, bounced, suppressed).
def _failed_before() -> Any:
    """Queued after a failure: a tried delivery (attempts), or one that could not be tried (the relay
    unreachable), which the sender does not count as an attempt but records in last_error."""
    return or_(OutboxMessage.attempts > 0, OutboxMessage.last_error.is_not(None))


VIEWS = ("due", "retrying", "dead", "queued", "sent", "bounced", "suppressed")


def _filtered(query: Select[Any], view: str | None, now: datetime) -> Select[Any]:
    if view == "due":
        return query.where(OutboxMessage.state == QUEUED, OutboxMessage.next_attempt_at <= now)
    if view == "retrying":
        return query.where(OutboxMessage.state == QUEUED, _failed_before())
    if view:
        return query.where(OutboxMessage.state == view)
    return query


def _summary(row: OutboxMessage, number: int | None) -> dict[str, Any]:
    return {
        "id": row.id, "kind": row.kind, "state": row.state, "incident": incident_ref(number) if number else None,
        "to": list(row.rcpt_tos), "attempts": row.attempts, "next_attempt_at": row.next_attempt_at.isoformat(),
        "created_at": row.created_at.isoformat(), "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "last_error": row.last_error, "message_id": row.message_id, "claimed_by": row.claimed_by,
    }


def list_outbox(session: Session, *, view: str | None, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Rows in `view` (VIEWS, or all), newest first."""
    query = (select(OutboxMessage, Incident.number).outerjoin(Incident, Incident.id == OutboxMessage.incident_id)
             .order_by(OutboxMessage.id.desc()).limit(limit))
    return [_summary(row, number) for row, number in session.execute(_filtered(query, view, now))]


def show_outbox(session: Session, outbox_id: int) -> dict[str, Any] | None:
    """One row with its headers (the raw mail up to its blank line), or None."""
    found = session.execute(select(OutboxMessage, Incident.number)
                            .outerjoin(Incident, Incident.id == OutboxMessage.incident_id)
                            .where(OutboxMessage.id == outbox_id)).first()
    if found is None:
        return None
    row, number = found
    detail = _summary(row, number)
    detail.update(mail_from=row.mail_from, dedupe_key=row.dedupe_key, relay_message_id=row.relay_message_id,
                  headers=row.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace"))
    return detail


@dataclass(frozen=True)
class RetryResult:
    """What `outbox retry` did to one row: queued again, or why not."""

    outbox_id: int
    queued: bool
    reason: str


def retry_outbox(session: Session, outbox_id: int, now: datetime) -> RetryResult:
    """Make a dead or retrying row due now with a fresh count of attempts; say why when it cannot be."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return RetryResult(outbox_id, False, "no such outbox row")
    if row.state not in (DEAD, QUEUED):
        return RetryResult(outbox_id, False, f"it is {row.state}, not dead or waiting for a retry "
                                             "(a sent mail is not sent twice)")
    was = "dead" if row.state == DEAD else f"waiting for attempt {row.attempts + 1}"
    row.state, row.attempts, row.next_attempt_at = QUEUED, 0, now
    return RetryResult(outbox_id, True, f"queued to be sent now (it was {was}; last error: {row.last_error or '-'})")


def dead_ids(session: Session) -> list[int]:
    return list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.state == DEAD).order_by(OutboxMessage.id)))


def backlog(session: Session, now: datetime) -> dict[str, Any]:
    """Counts an operator (and /metrics) watches: by state, due now, retrying, and the oldest waiting row's age."""
    by_state = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    queued = OutboxMessage.state == QUEUED
    due = session.scalar(select(func.count()).where(queued, OutboxMessage.next_attempt_at <= now)) or 0
    retrying = session.scalar(select(func.count()).where(queued, _failed_before())) or 0
    oldest = session.scalar(select(func.min(OutboxMessage.created_at)).where(queued))
    return {"by_state": {str(k): int(v) for k, v in by_state.items()}, "queued": int(by_state.get(QUEUED, 0)),
            "due": int(due), "retrying": int(retrying), "dead": int(by_state.get(DEAD, 0)),
            "oldest_queued_seconds": max((now - oldest).total_seconds(), 0.0) if oldest else 0.0}

