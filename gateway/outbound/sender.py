"""Drains due outbox rows to the transport and records each outcome.

Claiming pushes `next_attempt_at` forward by a lease and commits before any
network I/O, so two daemons never send the same row at once and a crash mid-send
only delays the row until the lease runs out. Long retries live in the row
(exponential backoff), so a restart loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.clock import Clock
from gateway.outbound.transports import DEAD, SENT, Outcome, Parcel, Transport
from store.bounces import suppressed_among
from store.incidents import Incident, incident_ref
from store.outbox import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_retry * (2 ** max(attempts - 1, 0)), self.max_retry)


def send_due(
    sessions: sessionmaker[Session], transport: Transport, clock: Clock, policy: RetryPolicy, limit: int = 50
) -> int:
    """Send up to `limit` due messages; return how many were attempted."""
    parcels = claim(sessions, clock.now(), policy, limit)
    if not parcels:
        return 0
    outcomes = transport.deliver(parcels)
    record(sessions, parcels, outcomes, clock.now(), policy)
    return len(parcels)


def next_due(sessions: sessionmaker[Session]) -> datetime | None:
    """When the earliest queued message becomes due (the sender sleeps until then)."""
    with sessions() as session:
        return session.scalar(
            select(OutboxMessage.next_attempt_at)
            .where(OutboxMessage.state == codes.OUT_QUEUED)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(1)
        )


def claim(sessions: sessionmaker[Session], now: datetime, policy: RetryPolicy, limit: int) -> list[Parcel]:
    """Take up to `limit` due rows: push each one's next attempt a lease ahead and count the attempt.

    Plain Core statements (one SELECT, one executemany UPDATE): the transaction
    holds SQLite's write lock, which the SMTP intake may be waiting for.
    """
    outbox, incidents = OutboxMessage.__table__, Incident.__table__
    with sessions.begin() as session:
        rows = session.execute(
            select(outbox.c.id, outbox.c.kind, outbox.c.mail_from, outbox.c.rcpt_tos, outbox.c.raw,
                   outbox.c.attempts, outbox.c.message_id, incidents.c.number)
            .outerjoin(incidents, incidents.c.id == outbox.c.incident_id)
            .where(outbox.c.state == codes.OUT_QUEUED, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        ).all()
        if not rows:
            return []
        recipients, gone = _unsuppressed(session, rows)
        rows = [row for row in rows if row.id not in gone]
        if rows:
            session.execute(
                update(outbox).where(outbox.c.id == bindparam("row_id"))
                .values(attempts=bindparam("new_attempts"), next_attempt_at=now + policy.lease),
                [{"row_id": row.id, "new_attempts": row.attempts + 1} for row in rows])
    return [Parcel(row.id, f"{row.id:08d}-{row.kind}" + (f"-{incident_ref(row.number)}" if row.number else ""),
                   row.mail_from, recipients[row.id], row.raw, row.attempts + 1, row.message_id) for row in rows]


def _unsuppressed(session: Session, rows: list) -> tuple[dict[int, tuple[str, ...]], set[int]]:  # type: ignore[type-arg]
    """Each row's recipients less those automatic mail no longer goes to (issue 13: hard bounces).

    A row left with nobody is marked `suppressed` with the reason and not sent. Letters a
    person wrote (an engineer's answer, a resolution) go whatever the bounces.
    """
    automatic = [row for row in rows if row.kind in codes.AUTOMATIC_KINDS]
    stopped = suppressed_among(session, (a for row in automatic for a in row.rcpt_tos)) if automatic else set()
    recipients: dict[int, tuple[str, ...]] = {}
    for row in rows:
        wanted = tuple(row.rcpt_tos)
        if row.kind in codes.AUTOMATIC_KINDS and stopped:
            wanted = tuple(a for a in wanted if a.lower() not in stopped)
        recipients[row.id] = wanted
    gone = {row.id for row in rows if row.rcpt_tos and not recipients[row.id]}
    if gone:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(gone)).values(
            state=codes.OUT_SUPPRESSED, last_error="not sent: every recipient bounced hard too often "
                                                   "([mail] hard_bounce_limit)"))
        log.warning("outbox %s: automatic mail suppressed (recipients bounced)", sorted(gone))
    return recipients, gone


def record(
    sessions: sessionmaker[Session], parcels: list[Parcel], outcomes: list[Outcome], now: datetime,
    policy: RetryPolicy,
) -> None:
    """Store each outcome with one UPDATE statement for the batch (executemany by id)."""
    changes: list[dict[str, object]] = []
    for parcel, outcome in zip(parcels, outcomes, strict=True):
        change: dict[str, object] = {"id": parcel.outbox_id, "last_error": outcome.detail or None}
        if outcome.status == SENT:
            change.update(state=codes.OUT_SENT, sent_at=now)
            if outcome.relay_message_id:  # replies will quote the relay's Message-ID, not ours
                change.update(relay_message_id=outcome.relay_message_id[:998])
        elif outcome.status == DEAD or parcel.attempts >= policy.max_attempts:
            change.update(state=codes.OUT_DEAD)
            log.error("outbox %s dead after %s attempt(s): %s", parcel.outbox_id, parcel.attempts, outcome.detail)
        else:
            change.update(next_attempt_at=now + policy.delay(parcel.attempts))
            log.warning("outbox %s: retry at %s: %s", parcel.outbox_id, change["next_attempt_at"], outcome.detail)
        changes.append(change)
    with sessions.begin() as session:
        session.execute(update(OutboxMessage), changes)
