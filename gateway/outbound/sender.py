"""Drains due outbox rows to the transport and records each outcome.

Claiming pushes `next_attempt_at` forward by a lease and commits before any
network I/O, so two daemons never send the same row at once and a crash mid-send
only delays the row until the lease runs out. Long retries live in the row
(exponential backoff), so a restart loses nothing.

Retries work as an MTA's do (issue 10 item 7): a message is given up when it has
been queued for `queue_lifetime` (5 days, Postfix's `maximal_queue_lifetime`),
not after a number of batches, and `attempts` counts only deliveries that were
tried — a relay that cannot be reached, or a connection lost before the
message's turn, charges nothing to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.clock import Clock
from gateway.outbound.journal import SentJournal, left_behind
from gateway.outbound.transports import DEAD, SENT, Outcome, Parcel, Transport
from store.bounces import suppressed_among
from store.db import engine_of, retry_when_locked
from store.incidents import Incident, incident_ref
from store.outbox import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None = None  # an optional cap on tried deliveries; the queue lifetime is the rule
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    queue_lifetime: timedelta = timedelta(days=5)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_retry * (2 ** min(max(attempts - 1, 0), 30)), self.max_retry)  # 2**30: no overflow

    def untried_delay(self, queued_for: timedelta) -> timedelta:
        """Back off by the time in the queue when nothing could be tried (the relay is away): half the
        age, between first_retry and max_retry, as Postfix's queue manager does for deferred mail."""
        return min(max(self.first_retry, queued_for / 2), self.max_retry)

    def expired(self, created_at: datetime, now: datetime) -> bool:
        return now - created_at >= self.queue_lifetime


def send_due(
    sessions: sessionmaker[Session], transport: Transport, clock: Clock, policy: RetryPolicy, limit: int = 50,
    claimant: str | None = None, journal: SentJournal | None = None,
) -> int:
    """Send up to `limit` due messages; return how many were attempted.

    `claimant` (gateway.outbound.claims: node:pid:generation) is written on each claimed row, so a
    restarted work process can release the rows its dead predecessor held. Each relay answer is on
    record before the next letter goes (issue 10 item 5: a crash re-sends at most the one on the
    wire): in `journal` (gateway.outbound.journal, the work process's), whose lines reach the
    database once per batch, or, without one, by a commit per answer.
    """
    if journal is not None:
        apply_journal(sessions, journal, policy)  # what an earlier batch could not write yet
    parcels = retry_when_locked(lambda: claim(sessions, clock.now(), policy, limit, claimant))
    if not parcels:
        return 0
    recorded: set[int] = set()

    def on_record(parcel: Parcel, outcome: Outcome) -> None:
        if journal is not None:
            journal.append(parcel, outcome, clock.now())
        else:
            retry_when_locked(lambda: record(sessions, [parcel], [outcome], clock.now(), policy))
        recorded.add(parcel.outbox_id)

    outcomes = transport.deliver(parcels, on_record)
    rest = [(parcel, outcome) for parcel, outcome in zip(parcels, outcomes, strict=True)
            if parcel.outbox_id not in recorded]
    if rest:
        retry_when_locked(lambda: record(sessions, [parcel for parcel, _ in rest], [outcome for _, outcome in rest],
                                         clock.now(), policy))
    if journal is not None:
        apply_journal(sessions, journal, policy)
    return len(parcels)


def recover_journals(sessions: sessionmaker[Session], data_dir: Path, node: str, pid: int, generation: str,
                     policy: RetryPolicy, alive: Callable[[int], bool]) -> int:
    """Apply and remove the journals this node's dead work processes left (at a work process's start).

    A live one's (an orphan still draining after its daemon was killed) is left to it."""
    applied = 0
    for path, owner, owner_generation in left_behind(data_dir, node):
        if (owner, owner_generation) == (pid, generation) or (owner != pid and alive(owner)):
            continue
        journal = SentJournal(path)
        try:
            applied += apply_journal(sessions, journal, policy)
        finally:
            journal.close()
        path.unlink(missing_ok=True)
    return applied


def apply_journal(sessions: sessionmaker[Session], journal: SentJournal, policy: RetryPolicy) -> int:
    """Write the journal's answers to the outbox in one transaction, then empty it; how many."""
    if not journal.unapplied:
        return 0
    entries = journal.pending()
    if entries:
        retry_when_locked(lambda: record(sessions, [p for p, _, _ in entries], [o for _, o, _ in entries],
                                         entries[-1][2], policy))
    journal.clear()  # written, or only a torn line a power cut left
    return len(entries)


def next_due(sessions: sessionmaker[Session]) -> datetime | None:
    """When the earliest queued message becomes due (the sender sleeps until then)."""
    with sessions() as session:
        return session.scalar(
            select(OutboxMessage.next_attempt_at)
            .where(OutboxMessage.state == codes.OUT_QUEUED)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(1)
        )


def claim(sessions: sessionmaker[Session], now: datetime, policy: RetryPolicy, limit: int,
          claimant: str | None = None) -> list[Parcel]:
    """Take up to `limit` due rows: push each one's next attempt a lease ahead (the attempt is counted
    when its outcome is recorded, and only if it was tried).

    Plain Core statements (one SELECT, one executemany UPDATE): the transaction
    holds SQLite's write lock, which the SMTP intake may be waiting for.
    """
    outbox, incidents = OutboxMessage.__table__, Incident.__table__
    with sessions.begin() as session:
        rows = session.execute(
            select(outbox.c.id, outbox.c.kind, outbox.c.mail_from, outbox.c.rcpt_tos, outbox.c.raw,
                   outbox.c.attempts, outbox.c.message_id, outbox.c.needs_smtputf8, outbox.c.created_at,
                   outbox.c.incident_id, incidents.c.number)
            .outerjoin(incidents, incidents.c.id == outbox.c.incident_id)
            .where(outbox.c.state == codes.OUT_QUEUED, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        ).all()
        if not rows:
            return []
        recipients, gone = _unsuppressed(session, rows)
        rows = _in_creation_order(session, [row for row in rows if row.id not in gone], recipients)
        if rows:
            session.execute(
                update(outbox).where(outbox.c.id == bindparam("row_id"))
                .values(next_attempt_at=now + policy.lease, claimed_by=claimant),
                [{"row_id": row.id} for row in rows])
    return [Parcel(row.id, f"{row.id:08d}-{row.kind}" + (f"-{incident_ref(row.number)}" if row.number else ""),
                   row.mail_from, recipients[row.id], row.raw, row.attempts + 1, row.message_id,
                   bool(row.needs_smtputf8), _aware(row.created_at)) for row in rows]


def _aware(value: datetime) -> datetime:
    """Core SELECTs on SQLite give naive UTC datetimes; the clock's are aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _in_creation_order(session: Session, rows: list, recipients: dict[int, tuple[str, ...]]) -> list:  # type: ignore[type-arg]
    """The rows that may go now without overtaking an earlier letter of their incident to a recipient.

    Issue 10 item 6: during a relay outage a "Customer reply" must not reach someone before the "New
    incident" it follows. A row whose earlier letter (same incident, a shared recipient) is still
    queued waits: until that letter's next attempt when it is backing off (the wait is written in the
    row, with the reason), or for the next round when that letter goes in this batch.
    """
    incident_ids = {row.incident_id for row in rows if row.incident_id is not None}
    if not incident_ids:
        return rows
    outbox, batch = OutboxMessage.__table__, {row.id for row in rows}
    earlier = session.execute(
        select(outbox.c.id, outbox.c.incident_id, outbox.c.rcpt_tos, outbox.c.next_attempt_at)
        .where(outbox.c.state == codes.OUT_QUEUED, outbox.c.incident_id.in_(incident_ids), outbox.c.id < max(batch))
        .order_by(outbox.c.id)).all()
    if not earlier:
        return rows
    free, waits = [], []
    for row in sorted(rows, key=lambda r: r.id):
        mine = {address.lower() for address in recipients[row.id]}
        blockers = [e for e in earlier if e.incident_id == row.incident_id and e.id < row.id
                    and mine & {address.lower() for address in e.rcpt_tos}]
        outside = [e for e in blockers if e.id not in batch]
        if not blockers:
            free.append(row)
        elif outside:
            first = outside[0]
            waits.append({"row_id": row.id, "until": max(e.next_attempt_at for e in outside),
                          "why": f"waiting for outbox {first.id}: an earlier letter of this incident to the same "
                                 "recipient is not delivered yet (order kept)"})
    if waits:
        session.execute(update(outbox).where(outbox.c.id == bindparam("row_id"))
                        .values(next_attempt_at=bindparam("until"), last_error=bindparam("why")), waits)
    return free


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
        attempts = parcel.attempts if outcome.tried else parcel.attempts - 1
        change: dict[str, object] = {"id": parcel.outbox_id, "last_error": outcome.detail or None,
                                     "attempts": attempts}
        capped = policy.max_attempts is not None and outcome.tried and attempts >= policy.max_attempts
        if outcome.status == SENT:
            change.update(state=codes.OUT_SENT, sent_at=now)
            if outcome.relay_message_id:  # replies will quote the relay's Message-ID, not ours
                change.update(relay_message_id=outcome.relay_message_id[:998])
        elif outcome.status == DEAD or capped:
            change.update(state=codes.OUT_DEAD)
            log.error("outbox %s dead after %s attempt(s): %s", parcel.outbox_id, attempts, outcome.detail)
        elif parcel.created_at is not None and policy.expired(parcel.created_at, now):
            change.update(state=codes.OUT_DEAD, last_error=(
                f"given up after {_days(policy.queue_lifetime)} in the queue ([outbound] queue_lifetime_days), "
                f"{attempts} delivery attempt(s); last: {outcome.detail}")[:4000])
            log.error("outbox %s dead: queued since %s, %s attempt(s): %s", parcel.outbox_id,
                      parcel.created_at.isoformat(), attempts, outcome.detail)
        else:
            wait = policy.delay(attempts) if outcome.tried else \
                policy.untried_delay(now - parcel.created_at if parcel.created_at else timedelta(0))
            change.update(next_attempt_at=now + wait, claimed_by=None)  # nobody holds it while it waits
            log.warning("outbox %s: retry at %s: %s", parcel.outbox_id, change["next_attempt_at"], outcome.detail)
        changes.append(change)
    if len(changes) == 1:  # the usual case, one delivery recorded as it happens: a plain Core UPDATE
        change, outbox = changes[0], OutboxMessage.__table__
        with engine_of(sessions).begin() as connection:
            connection.execute(update(outbox).where(outbox.c.id == change["id"])
                               .values({key: value for key, value in change.items() if key != "id"}))
        return
    with sessions.begin() as session:
        session.execute(update(OutboxMessage), changes)


def _days(span: timedelta) -> str:
    days = span / timedelta(days=1)
    return f"{days:g} day(s)" if days >= 1 else f"{span.total_seconds() / 3600:g} hour(s)"
