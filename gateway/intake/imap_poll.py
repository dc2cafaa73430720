"""One poll of one mailbox: SEARCH, then per batch FETCH → accept_raw → ledger COMMIT → move or flag.

The order is what makes intake exactly-once: nothing leaves the mailbox before
its ledger row is committed. A crash after the commit leaves the message where
it was; the next poll finds its UID in the ledger and only finishes the move.
A crash before the commit means a re-fetch that accept_raw's sha256 turns into
a duplicate. Batches (account.batch_size UIDs per FETCH) keep a mailbox with
thousands of waiting mails draining steadily, with bounded memory.

A mail that cannot be handled never blocks the rest: oversize mail is stored
header-only and quarantined (reason "oversize"), unparseable mail is stored and
quarantined later by the processor, and a mail the server will not hand out is
recorded as unreadable, retried on the next polls, then left in the mailbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.faults import crash_point
from gateway.intake.imap_conn import ImapConnection
from gateway.intake.imap_ledger import Known, Taken, Where, begin_poll, known_uids, record_success, store_batch
from gateway.settings import ImapSection
from store.checkpoints import DUPLICATE, IMPORTED, OVERSIZE, UNREADABLE

log = logging.getLogger(__name__)

MAX_FETCH_ATTEMPTS = 3  # an unreadable mail is tried on this many polls, then left for a person

SubmitDb = Callable[..., "Future[Any]"]  # submit_db(work, *args): a unit of work for a database worker


def run_here(work: Callable[..., Any], *args: object) -> Future[Any]:
    """A SubmitDb that runs the work at once on the calling thread (tests, tools)."""
    done: Future[Any] = Future()
    try:
        done.set_result(work(*args))
    except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the future
        done.set_exception(exc)
    return done


@dataclass
class PollStats:
    """What one poll did; `progress` is zero when there was nothing (left) to do."""

    found: int = 0
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unreadable: int = 0
    disposed: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)

    @property
    def progress(self) -> int:
        return self.imported + self.duplicates + self.quarantined + self.disposed

    def count(self, taken: list[Taken]) -> None:
        for item in taken:
            self.outcomes[item.uid] = item.outcome
            if item.outcome == IMPORTED:
                self.imported += 1
            elif item.outcome == DUPLICATE:
                self.duplicates += 1
            elif item.outcome == OVERSIZE:
                self.quarantined += 1
            elif item.outcome == UNREADABLE:
                self.unreadable += 1


@dataclass(frozen=True)
class PollContext:
    """Everything a poll needs besides the connection."""

    account: ImapSection
    sessions: sessionmaker[Session]
    submit_db: SubmitDb
    clock: Clock
    max_size: int
    on_batch: Callable[[], None]
    stop: threading.Event

    @property
    def flag_mode(self) -> bool:
        return self.account.mode == "flag"

    def run_db(self, work: Callable[..., Any], *args: object) -> Any:
        return self.submit_db(work, *args).result()


@dataclass(frozen=True)
class _Batch:
    """One batch on its way: fetched, its commit submitted to the database, not yet moved."""

    committed: list[int]  # UIDs the ledger already had: only the move is left to do
    known: dict[int, Known]
    stored: Future[list[Taken]] | None


def poll_mailbox(conn: ImapConnection, ctx: PollContext) -> PollStats:
    """Import everything waiting in the account's mailbox; return what was done.

    Batches overlap: while batch N is committed on a database worker, batch N+1
    is fetched; batch N is moved only once its commit is back. The order per
    mail (commit, then move) is unchanged.
    """
    account = ctx.account
    selected = conn.select(account.mailbox)
    where = Where(account.name, account.mailbox, selected.uidvalidity, account.user,
                  account.mailbox if ctx.flag_mode else account.processed_folder)
    start = ctx.run_db(begin_poll, ctx.sessions, where, ctx.clock.now())
    if start.previous_uidvalidity is not None:
        log.warning("imap[%s]: UIDVALIDITY of %r changed from %s to %s (mailbox recreated or restored); "
                    "rescanning it: mail already imported is recognised by sha256 and Message-ID",
                    account.name, account.mailbox, start.previous_uidvalidity, selected.uidvalidity)
    uids = conn.pending_uids(flag_mode=ctx.flag_mode)
    oversize = frozenset(conn.pending_uids(flag_mode=ctx.flag_mode, larger_than=ctx.max_size) if uids else ())
    stats = PollStats(found=len(uids))
    pending: list[_Batch] = []  # at most two: the one being committed and the one just fetched
    try:
        for uids_of_batch in _chunks(uids, account.batch_size):
            if ctx.stop.is_set():
                break
            pending.append(_fetch(conn, ctx, where, start.rescan, uids_of_batch, oversize))
            if len(pending) == 2:
                _finish(conn, ctx, where, pending.pop(0), stats)
        while pending:
            _finish(conn, ctx, where, pending.pop(0), stats)
    finally:
        # On an error, never leave a commit running under the next poll (it would race the ledger).
        wait([batch.stored for batch in pending if batch.stored is not None])
    ctx.run_db(record_success, ctx.sessions, where, ctx.clock.now())
    return stats


def _fetch(conn: ImapConnection, ctx: PollContext, where: Where, rescan: bool, uids: list[int],
           oversize: frozenset[int]) -> _Batch:
    """Look the UIDs up in the ledger, FETCH what is new, and submit its commit.

    The look-up is a read on this thread's own session, not a unit of work for the
    database worker: there it would queue behind the previous batch's commit (SQLite
    has one worker) and undo the overlap. WAL readers never wait for the writer.
    """
    known: dict[int, Known] = known_uids(ctx.sessions, where, uids)
    committed = [uid for uid in uids if uid in known and known[uid].outcome != UNREADABLE]
    todo = [uid for uid in uids if uid not in known
            or (known[uid].outcome == UNREADABLE and known[uid].attempts < MAX_FETCH_ATTEMPTS)]
    big = [uid for uid in todo if uid in oversize]
    sizes = conn.sizes(big)  # the real size of what is not read in full, for the operator
    fetched = conn.fetch([uid for uid in todo if uid not in oversize], sizes)
    fetched += conn.fetch(big, sizes, header_only=True)
    if not fetched:
        return _Batch(committed, known, None)
    fetched.sort(key=lambda item: item.uid)
    retried = frozenset(uid for uid in todo if uid in known)
    return _Batch(committed, known, ctx.submit_db(store_batch, ctx.sessions, where, fetched, frozenset(big),
                                                  retried, ctx.max_size, rescan, ctx.clock))


def _finish(conn: ImapConnection, ctx: PollContext, where: Where, batch: _Batch, stats: PollStats) -> None:
    """Wait for the batch's commit, then move or flag it."""
    taken: list[Taken] = []
    if batch.stored is not None:
        taken = batch.stored.result()
        ctx.on_batch()
        stats.count(taken)
        _report(ctx.account, where, taken, batch.known)
        crash_point("imap-after-commit")  # committed, not yet moved: the kill test's moment
    done = sorted(batch.committed + [item.uid for item in taken if item.outcome != UNREADABLE])
    conn.dispose(done, flag_mode=ctx.flag_mode, folder=ctx.account.processed_folder)
    stats.disposed += len(batch.committed)


def _report(account: ImapSection, where: Where, taken: list[Taken], known: dict[int, Known]) -> None:
    new = sum(item.outcome == IMPORTED for item in taken)
    log.info("imap[%s]: %d new mail(s) from %r committed (%d taken in this batch)",
             account.name, new, where.mailbox, len(taken))
    for item in taken:
        if item.outcome == OVERSIZE:
            log.warning("imap[%s]: UID %s is %d bytes, over the size limit: header stored as inbound %s "
                        "and quarantined (oversize)", account.name, item.uid, item.size, item.inbound_id)
        elif item.outcome == UNREADABLE:
            attempts = known[item.uid].attempts + 1 if item.uid in known else 1
            if attempts >= MAX_FETCH_ATTEMPTS:
                log.error("imap[%s]: UID %s in %r could not be read after %d attempts (%s); "
                          "left in the mailbox for a person", account.name, item.uid, where.mailbox,
                          attempts, item.detail)
            else:
                log.warning("imap[%s]: UID %s in %r could not be read (%s); will try again on the next poll",
                            account.name, item.uid, where.mailbox, item.detail)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]
