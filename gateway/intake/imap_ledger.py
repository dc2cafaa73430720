"""The IMAP poller's units of work on the database: accept a fetched batch, commit its ledger, keep health.

Each function takes the sessionmaker and runs on a database worker (the daemon
hands them to Database.run), never on the IMAP thread's connection. The
transactions here read before they write, which SQLite answers with an instant
"database is locked" when another process (the work process) committed in
between; each is retried whole (store.db.retry_when_locked), which is safe
because a failed transaction left nothing behind. The order
inside store_batch() is the exactly-once argument: the batch's mails
(sha256-unique, as accept_raw() stores them) and its ledger rows are committed
in one transaction, and only after that does the caller move or flag anything
on the server.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.clock import Clock
from gateway.intake.imap_conn import Fetched
from gateway.intake.imap_mail import describe
from gateway.intake.ingest import Accepted, Arrival, insert_arrivals, new_rows
from store import checkpoints
from store.db import retry_when_locked
from store.checkpoints import DUPLICATE, IMPORTED, OVERSIZE, UNREADABLE, ImapLedgerEntry
from store.inbound_insert import NewInbound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Where:
    """The mailbox a batch came from, under the UIDVALIDITY it was read with."""

    account: str
    mailbox: str
    uidvalidity: int
    user: str  # the login: the mailbox address when it is one (the envelope's RCPT)
    kept_in: str  # where imported mail stays on the server: the processed folder, or (flag mode) the mailbox

    def ref(self, uid: int) -> str:
        return f"imap:{self.account}/{self.mailbox}/{self.uidvalidity}/{uid}"


@dataclass(frozen=True)
class Known:
    outcome: str
    attempts: int


@dataclass(frozen=True)
class Taken:
    """What the ledger records for one UID of a batch."""

    uid: int
    size: int
    outcome: str
    sha256: str | None = None
    message_id: str | None = None
    inbound_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True)
class PollStart:
    previous_uidvalidity: int | None  # set when the server's UIDVALIDITY is not the one we saw last
    rescan: bool  # mail was imported under another UIDVALIDITY: recognise it by sha256/Message-ID


def begin_poll(sessions: sessionmaker[Session], where: Where, now: datetime) -> PollStart:
    """Note the poll and the UIDVALIDITY; say whether it changed and whether this is a rescan."""
    return retry_when_locked(lambda: _begin_poll(sessions, where, now))


def _begin_poll(sessions: sessionmaker[Session], where: Where, now: datetime) -> PollStart:
    with sessions.begin() as session:
        health = checkpoints.health_row(session, where.account, where.mailbox)
        previous = health.uidvalidity
        health.uidvalidity, health.last_poll_at = where.uidvalidity, now
        rescan = checkpoints.has_other_uidvalidity(session, where.account, where.mailbox, where.uidvalidity)
    changed = previous if previous is not None and previous != where.uidvalidity else None
    return PollStart(changed, rescan)


def known_uids(sessions: sessionmaker[Session], where: Where, uids: list[int]) -> dict[int, Known]:
    with sessions() as session:
        rows = checkpoints.ledger_entries(session, where.account, where.mailbox, where.uidvalidity, uids)
        return {uid: Known(row.outcome, row.attempts) for uid, row in rows.items()}


def store_batch(sessions: sessionmaker[Session], where: Where, fetched: list[Fetched], oversize: frozenset[int],
                retried: frozenset[int], max_size: int, rescan: bool, clock: Clock) -> list[Taken]:
    """Accept every readable mail and record the batch's ledger rows and counts, in ONE transaction.

    Mails and ledger rows commit together (one fsync per batch, not one per
    mail), so a crash leaves either the whole batch stored and recorded or none
    of it; the caller moves or flags mail on the server only after this returns.
    An oversize mail is stored already quarantined (Arrival.state), so the
    processor can never take it first. `retried`: UIDs already in the ledger as
    unreadable, whose rows are updated rather than inserted.
    """
    now = clock.now()
    planned = [_plan(sessions, where, item, item.uid in oversize, max_size, rescan, now) for item in fetched]
    return retry_when_locked(lambda: _commit(sessions, where, planned, retried, now))


@dataclass(frozen=True)
class _ToAccept:
    """A readable mail of the batch, with what the ledger will say of it once stored."""

    item: Fetched
    row: NewInbound
    message_id: str | None
    oversize_detail: str | None


def _plan(sessions: sessionmaker[Session], where: Where, item: Fetched, oversize: bool, max_size: int,
          rescan: bool, now: datetime) -> Taken | _ToAccept:
    if item.raw is None:
        return Taken(item.uid, item.size, UNREADABLE, detail=item.error)
    digest = hashlib.sha256(item.raw).hexdigest()
    envelope, message_id = describe(item.raw, where.user)
    if rescan:
        with sessions() as session:
            earlier = checkpoints.imported_before(session, where.account, where.mailbox, where.uidvalidity,
                                                  digest, message_id)
        if earlier is not None:
            return Taken(item.uid, item.size, DUPLICATE, digest, message_id, earlier,
                         "already imported under an earlier UIDVALIDITY")
    detail = None
    arrival = Arrival(item.raw, envelope, codes.SOURCE_IMAP, where.ref(item.uid))
    if oversize:
        detail = (f"{item.size} bytes, over smtp.max_message_size ({max_size}): only the header is stored; "
                  f"the whole mail stays on the IMAP server (account {where.account}, folder {where.kept_in})")
        arrival = Arrival(item.raw, envelope, codes.SOURCE_IMAP, where.ref(item.uid), codes.QUARANTINED, OVERSIZE,
                          detail)
    return _ToAccept(item, new_rows([arrival], now)[0], message_id, detail)


def _commit(sessions: sessionmaker[Session], where: Where, planned: list[Taken | _ToAccept],
            retried: frozenset[int], now: datetime) -> list[Taken]:
    """One transaction: the batch's mails, its ledger rows (bulk INSERT; UPDATE for retried UIDs) and counts."""
    with sessions.begin() as session:
        accepting = [p for p in planned if isinstance(p, _ToAccept)]
        accepted = iter(insert_arrivals(session.connection(), [p.row for p in accepting]))
        taken = [p if isinstance(p, Taken) else _taken(p, next(accepted)) for p in planned]
        health = checkpoints.health_row(session, where.account, where.mailbox)
        existing = checkpoints.ledger_entries(session, where.account, where.mailbox, where.uidvalidity,
                                              [t.uid for t in taken if t.uid in retried])
        new_rows_ = []
        for item in taken:
            row = existing.get(item.uid)
            if row is None or item.outcome != UNREADABLE:  # count a mail once, when it is first decided
                _count(health, item.outcome)
            if item.outcome == UNREADABLE:  # shown by `status` until an operator looks
                health.last_error, health.last_error_at = f"UID {item.uid} unreadable: {item.detail}"[:2000], now
            values = {"sha256": item.sha256, "message_id": item.message_id, "size": item.size,
                      "outcome": item.outcome, "inbound_id": item.inbound_id, "detail": item.detail,
                      "committed_at": now}
            if row is None:
                new_rows_.append({"account": where.account, "mailbox": where.mailbox,
                                  "uidvalidity": where.uidvalidity, "uid": item.uid, "attempts": 1, **values})
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.attempts += 1
        if new_rows_:
            session.execute(insert(ImapLedgerEntry), new_rows_)
    return taken


def _taken(planned: _ToAccept, accepted: Accepted) -> Taken:
    item, digest = planned.item, planned.row.sha256
    if accepted.duplicate:
        return Taken(item.uid, item.size, DUPLICATE, digest, planned.message_id, accepted.inbound_id)
    if planned.oversize_detail is None:
        return Taken(item.uid, item.size, IMPORTED, digest, planned.message_id, accepted.inbound_id)
    return Taken(item.uid, item.size, OVERSIZE, digest, planned.message_id, accepted.inbound_id,
                 planned.oversize_detail)


def _count(health: checkpoints.ImapMailboxHealth, outcome: str) -> None:
    if outcome == IMPORTED:
        health.imported += 1
    elif outcome == DUPLICATE:
        health.duplicates += 1
    elif outcome == OVERSIZE:
        health.quarantined += 1
    elif outcome == UNREADABLE:
        health.unreadable += 1


def record_success(sessions: sessionmaker[Session], where: Where, now: datetime) -> None:
    def write() -> None:
        with sessions.begin() as session:
            health = checkpoints.health_row(session, where.account, where.mailbox)
            health.last_success_at, health.consecutive_failures = now, 0

    retry_when_locked(write)


def record_failure(sessions: sessionmaker[Session], account: str, mailbox: str, error: str, now: datetime) -> None:
    def write() -> None:
        with sessions.begin() as session:
            health = checkpoints.health_row(session, account, mailbox)
            health.last_error, health.last_error_at = error[:2000], now
            health.consecutive_failures += 1

    retry_when_locked(write)
