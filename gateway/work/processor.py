"""Turns received inbound rows into outcomes: parse once, decide, apply.

Mails are processed in batches, in three steps:

1. *prepare* (gateway.work.prepare), outside any write transaction: load the raw bytes, parse, look
   up the sender's role and the incidents the threading clues point at, decide
   (pure). Mails are decided in order, and each decision's resulting incident
   state is what the next mail of the batch about that incident sees.
2. *plan*: reserve the incident numbers the batch needs (one tiny transaction)
   and build every row, mails rendered and MIME-encoded. The automatic letters
   sent lately are read first (gateway.work.rate_limits), and each mail's own
   letters count for the next, so the rate limits hold within a batch too.
3. *write*, one short transaction (BEGIN IMMEDIATE on SQLite): re-check that
   each mail is still `received` (another worker may have taken it) and that
   each incident a mail changes is still as its decision saw it (else the mail
   stays `received` and is decided again in the next batch), then flush the
   planned rows with the inbound rows' new states.

Steps 1 and 2 are nearly all the CPU work and hold no lock, so SMTP intake in
the other process never waits long for SQLite's write lock. On PostgreSQL, where
several nodes may share the store, the write transaction opens first and claims
the batch's rows (FOR UPDATE SKIP LOCKED), so no two nodes prepare the same mail
(`_process_claimed`). The price: a
batch whose write fails, or a mail another daemon took first, leaves its
reserved incident numbers unused (numbers stay unique and increasing).

A mail that cannot be parsed, or whose rows cannot be built (a broken
template), is quarantined on its own inside the batch. If the batch's commit
fails, every mail of it is retried alone, so one bad mail never stops the
others, and nothing is lost: the raw bytes stay in the row.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App
from gateway.clock import Clock
from gateway.work.authentication import Authenticator, authenticator_for
from gateway.work.directory import SenderCache
from gateway.work.prepare import Prepared, prepare_all
from gateway.outbound.limits import Ledger
from gateway.work.duplicates import without_copies_processed_elsewhere
from gateway.work.effects import INCIDENT_COUNTER, Outcome, apply_update, new_incidents, plan
from gateway.work.mail_rows import inbound_change
from gateway.work.rate_limits import recent_letters, store_sent
from gateway.work.scheduler import reschedule
from store.db import engine_of, is_sqlite, is_store_unavailable
from store.inbound import InboundMessage
from store.bulk import insert_new_incidents
from store.incidents import AttachmentBlob, Incident
from store.rows import NewIncident
from store.sql import insert_blobs_ignoring_duplicates, reserve_values

log = logging.getLogger(__name__)

BATCH_BYTES = 64 * 1024 * 1024  # raw bytes held in memory by one batch (at least one mail)


def process_pending(app: App, readers: sessionmaker[Session], clock: Clock, limit: int = 100,
                    writers: sessionmaker[Session] | None = None, senders: SenderCache | None = None,
                    authenticator: Authenticator | None = None) -> int:
    """Process up to `limit` received mails, oldest first; return how many were looked at.

    `writers` may be a session factory whose SQLite transactions begin IMMEDIATE
    (see store.db.make_engine); it defaults to `readers`. `senders` keeps
    senders' roles across calls (the work loop passes one); without it each
    batch looks them up afresh; likewise `authenticator` ([authentication], its DNS cache).
    """
    writers = writers or readers
    now = clock.now()
    if not is_sqlite(str(engine_of(writers).url)):
        return _process_claimed(app, readers, writers, now, limit, senders, authenticator)
    ids = _next_batch(readers, limit)
    if not ids:
        return 0
    try:
        prepared = prepare_all(app, readers, ids, senders, authenticator)
        outcomes = _plan_all(app, writers, prepared, now, recent_letters(app, readers, prepared, now))
        with writers.begin() as session:
            _write(app, session, outcomes, now)
    except Exception:  # noqa: BLE001 - a failed batch is retried mail by mail
        log.exception("batch of %s mails failed to commit; processing them one at a time", len(ids))
        for inbound_id in ids:
            process_one(app, readers, inbound_id, now, writers)
    return len(ids)


def _process_claimed(app: App, readers: sessionmaker[Session], writers: sessionmaker[Session], now: datetime,
                     limit: int, senders: SenderCache | None, authenticator: Authenticator | None) -> int:
    """PostgreSQL, where several nodes may share the store (issue 15): claim the batch first.

    The write transaction is opened before the work and takes the batch's rows with
    FOR UPDATE SKIP LOCKED, so another node's processor takes the next mails instead of
    parsing and deciding the same ones (each node used to prepare every mail, and to
    reserve incident numbers for it). Readers never wait for row locks (MVCC), and the
    SMTP intake only inserts, so holding the locks while preparing blocks nobody; the
    incident numbers are still reserved in their own tiny transaction. SQLite keeps the
    lock-free preparation (its one write lock would stop the intake).
    """
    ids: list[int] = []
    try:
        with writers.begin() as session:
            ids = _claim_batch(session, limit)
            if not ids:
                return 0
            prepared = prepare_all(app, readers, ids, senders, authenticator)
            outcomes = _plan_all(app, writers, prepared, now, recent_letters(app, readers, prepared, now))
            _write(app, session, outcomes, now)
    except Exception as exc:  # noqa: BLE001 - a failed batch is retried mail by mail
        if is_store_unavailable(exc) or not ids:
            raise
        log.exception("batch of %s mails failed to commit; processing them one at a time", len(ids))
        for inbound_id in ids:
            process_one(app, readers, inbound_id, now, writers)
    return len(ids)


def _claim_batch(session: Session, limit: int) -> list[int]:
    """The oldest received mails no other node is working on, locked until this transaction ends."""
    rows = session.execute(
        select(InboundMessage.id, InboundMessage.size)
        .where(InboundMessage.state == codes.RECEIVED)
        .order_by(InboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return _within_bytes(rows)


def process_one(app: App, readers: sessionmaker[Session], inbound_id: int, now: datetime,
                writers: sessionmaker[Session] | None = None) -> str | None:
    """Process one inbound mail on its own; return its new state (None if another worker had it)."""
    writers = writers or readers
    try:
        prepared = prepare_all(app, readers, [inbound_id], None, authenticator_for(app.settings))
        outcomes = _plan_all(app, writers, prepared, now, recent_letters(app, readers, prepared, now))
        with writers.begin() as session:
            return _write(app, session, outcomes, now).get(inbound_id)
    except Exception as exc:  # noqa: BLE001 - quarantine, never crash the daemon
        if is_store_unavailable(exc):
            raise  # left received: the work loop pauses and tries again (issue 15)
        log.exception("inbound %s: processing failed; quarantined", inbound_id)
        _quarantine(writers, inbound_id, codes.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}", now)
        return codes.QUARANTINED


def _next_batch(readers: sessionmaker[Session], limit: int) -> list[int]:
    """The oldest received mails, as many as `limit` and BATCH_BYTES allow."""
    with readers() as session:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.size)
            .where(InboundMessage.state == codes.RECEIVED)
            .order_by(InboundMessage.id)
            .limit(limit)
        ).all()
    return _within_bytes(rows)


def _within_bytes(rows: list) -> list[int]:  # type: ignore[type-arg]
    """As many of the rows (id, size) as BATCH_BYTES allows, at least one."""
    ids, total = [], 0
    for inbound_id, size in rows:
        if ids and total + size > BATCH_BYTES:
            break
        ids.append(inbound_id)
        total += size
    return ids


def _plan_all(app: App, writers: sessionmaker[Session], prepared: list[Prepared],
              now: datetime, sent: Ledger | None = None) -> list[tuple[Prepared, Outcome]]:
    """Step 2: reserve incident numbers in one tiny transaction, then build every mail's rows."""
    sent = sent if sent is not None else Ledger(app.settings.limits, now)
    wanted = sum(new_incidents(p.decision) for p in prepared if p.decision is not None)
    next_number = 0
    if wanted:
        with writers.begin() as session:
            next_number = reserve_values(session, INCIDENT_COUNTER, wanted) - wanted + 1
    planned = []
    for item in prepared:
        count = new_incidents(item.decision) if item.decision is not None else 0
        numbers = list(range(next_number, next_number + count))
        next_number += count
        planned.append((item, _plan_one(app, item, now, numbers, sent)))
    return planned


def _plan_one(app: App, item: Prepared, now: datetime, numbers: list[int], sent: Ledger) -> Outcome:
    if item.failure is not None or item.mail is None or item.decision is None:
        reason, detail = item.failure or (codes.PROCESSING_FAILED, "nothing was decided")
        return Outcome(codes.QUARANTINED, reason, detail[:4000])
    try:
        outcome = plan(app, item.inbound_id, item.mail, item.decision, now, numbers, sent)
        for new in outcome.incidents:  # the SLA clock's next due time, computed outside the write lock
            reschedule(app, new, _customer_key(item), now)
        outcome.sent = sent.settle()
        return outcome
    except Exception as exc:  # noqa: BLE001 - e.g. a broken template: quarantine this mail only
        sent.discard()
        log.exception("inbound %s: could not build its rows; quarantined", item.inbound_id)
        return Outcome(codes.QUARANTINED, codes.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}"[:4000])


def _write(app: App, session: Session, outcomes: list[tuple[Prepared, Outcome]],
           now: datetime) -> dict[int, str]:
    """Step 3: apply every planned outcome in the caller's transaction; return the new states.

    Updates to existing incidents go through the ORM (few, and checked against
    the version their decision saw); new incidents and every inbound row's new
    state are written with a few bulk statements for the whole batch.
    """
    ids = [item.inbound_id for item, _ in outcomes]
    received = set(session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.id.in_(ids), InboundMessage.state == codes.RECEIVED)
        .with_for_update(skip_locked=True)  # several daemons on one PostgreSQL never take the same mail
    ))
    outcomes = without_copies_processed_elsewhere(app, session, outcomes, received, now)
    incidents = _lock_incidents(session, [o.update.incident_id for _, o in outcomes if o.update is not None])
    stale: set[int] = set()  # incidents changed under a decision: later mails about them wait too
    written: list[tuple[Prepared, Outcome, Incident | None]] = []
    with session.no_autoflush:
        for item, outcome in outcomes:
            if item.inbound_id not in received:
                continue
            incident = None
            if outcome.update is not None:
                incident = incidents.get(outcome.update.incident_id)
                if incident is None or incident.id in stale or _version(incident) != outcome.update.version:
                    stale.add(outcome.update.incident_id)
                    log.info("inbound %s: %s changed meanwhile; deciding again", item.inbound_id,
                             codes.STALE_DECISION)
                    continue
                apply_update(session, incident, outcome.update)
                reschedule(app, incident, _customer_key(item), now)  # the SLA clock's next due time
            written.append((item, outcome, incident))
    blobs = {blob["sha256"]: blob for _, outcome, _ in written for blob in outcome.blobs}
    insert_blobs_ignoring_duplicates(session, AttachmentBlob.__table__, "data", list(blobs.values()))
    session.flush()  # the updates
    insert_new_incidents(session.connection(), [new for _, o, _ in written for new in o.incidents],
                         [row for _, o, _ in written for row in o.outbox])
    store_sent(app, session, [letter for _, o, _ in written for letter in o.sent], now)
    changes = [inbound_change(item.inbound_id, item.mail, item.decision, item.authentication, outcome.state,
                              outcome.reason, outcome.detail, _linked(outcome, incident), now)
               for item, outcome, incident in written]
    if changes:
        session.execute(update(InboundMessage), changes)
    for change in changes:
        log.info("inbound %s: %s (%s)", change["id"], change["state"], change["reason"])
    return {change["id"]: change["state"] for change in changes}


def _linked(outcome: Outcome, incident: Incident | None) -> Incident | NewIncident | None:
    """The incident an inbound row points at: the one it changed, or the first it opened."""
    return incident if incident is not None else (outcome.incidents[0] if outcome.incidents else None)


def _customer_key(item: Prepared) -> str:
    decision = item.decision
    assert decision is not None
    if decision.customer is not None:
        return decision.customer.key
    return decision.incident.customer_key if decision.incident is not None else ""


def _lock_incidents(session: Session, ids: list[int]) -> dict[int, Incident]:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(
        select(Incident).where(Incident.id.in_(set(ids))).order_by(Incident.id).with_for_update())}


def _version(incident: Incident) -> tuple[str, str, int, str | None]:
    return (incident.status, incident.side, incident.severity, incident.assignee)


def _quarantine(sessions: sessionmaker[Session], inbound_id: int, reason: str, detail: str, now: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None and row.state == codes.RECEIVED:
            row.state, row.reason, row.detail, row.processed_at = codes.QUARANTINED, reason, detail[:4000], now
