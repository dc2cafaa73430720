"""The IMAP poller's units of work on the database: accept a fetched batch, commit its ledger, keep health.

Each function takes the sessionmaker and runs on a database worker (the daemon
hands them to Database.run), never on the IMAP thread's connection. The
transactions here read before they write, which SQLite answers with an instant
"database is locked" when another process (the work process) committed in
between; each is retried whole (store.db.retry_when_locked), which is safe
because a failed transaction left nothing behind. The order
inside store_batch() is the exactly-once argument: every mail is committed by
accept_raw() (sha256-unique), then the batch's ledger rows are committed, and
only after that does the caller move or flag anything on the server.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.clock import Clock
from gateway.imap_conn import Fetched
from gateway.imap_mail import describe
from gateway.ingest import accept_raw
from store import checkpoints
from store.db import retry_when_locked
from store.checkpoints import DUPLICATE, IMPORTED, OVERSIZE, UNREADABLE, ImapLedgerEntry
from store.inbound import InboundMessage

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
    """accept_raw() every readable mail, then commit the batch's ledger rows and counts in one transaction.

    `retried`: UIDs already in the ledger as unreadable, whose rows are updated rather than inserted.
    """
    taken = [_take(sessions, where, item, item.uid in oversize, max_size, rescan, clock) for item in fetched]
    now = clock.now()
    retry_when_locked(lambda: _commit(sessions, where, taken, retried, now))
    return taken


def _take(sessions: sessionmaker[Session], where: Where, item: Fetched, oversize: bool, max_size: int,
          rescan: bool, clock: Clock) -> Taken:
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
    now = clock.now()
    accepted = accept_raw(sessions, item.raw, envelope, source=codes.SOURCE_IMAP,
                          now=now, source_ref=where.ref(item.uid))
    if accepted.duplicate:
        return Taken(item.uid, item.size, DUPLICATE, digest, message_id, accepted.inbound_id)
    if not oversize:
        return Taken(item.uid, item.size, IMPORTED, digest, message_id, accepted.inbound_id)
    detail = (f"{item.size} bytes, over smtp.max_message_size ({max_size}): only the header is stored; "
              f"the whole mail stays on the IMAP server (account {where.account}, folder {where.kept_in})")
    _quarantine_oversize(sessions, accepted.inbound_id, detail, now)
    return Taken(item.uid, item.size, OVERSIZE, digest, message_id, accepted.inbound_id, detail)


def _quarantine_oversize(sessions: sessionmaker[Session], inbound_id: int, detail: str, now: datetime) -> None:
    """Hold an oversize mail for an operator; only if the processor has not taken it yet.

    accept_raw() stores every mail as `received`, so this runs right after it. The
    processor re-checks `received` inside its write transaction, after parsing and
    rendering the batch, so it would have to finish a whole batch in the moment
    between the two commits to win; if it ever does, the mail became an incident
    (from its header) and a WARNING says so. Nothing is lost either way.
    """
    def hold() -> int:
        with sessions.begin() as session:
            return session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == inbound_id, InboundMessage.state == codes.RECEIVED)
                .values(state=codes.QUARANTINED, reason=OVERSIZE, detail=detail, processed_at=now)
            ).rowcount

    if not retry_when_locked(hold):
        log.warning("inbound %s: oversize mail was processed before it could be quarantined", inbound_id)


def _commit(sessions: sessionmaker[Session], where: Where, taken: list[Taken], retried: frozenset[int],
            now: datetime) -> None:
    """One transaction: the batch's ledger rows (bulk INSERT; UPDATE for retried unreadable UIDs) and counts."""
    with sessions.begin() as session:
        health = checkpoints.health_row(session, where.account, where.mailbox)
        existing = checkpoints.ledger_entries(session, where.account, where.mailbox, where.uidvalidity,
                                              [t.uid for t in taken if t.uid in retried])
        new_rows = []
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
                new_rows.append({"account": where.account, "mailbox": where.mailbox,
                                 "uidvalidity": where.uidvalidity, "uid": item.uid, "attempts": 1, **values})
            else:
                for key, value in values.items():
                    setattr(row, key, value)
                row.attempts += 1
        if new_rows:
            session.execute(insert(ImapLedgerEntry), new_rows)


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
