"""One poller per mailbox across nodes (issue 15): the poller's lease on its [[imap]] account.

Several nodes on one PostgreSQL all run a poller thread per account, but only the
lease holder connects to the mailbox; the others stand by and try the lease every
third of its length. The lease lasts three quarters of a poll interval and the holder
renews it before each wait and after each committed batch, so a holder that dies
(SIGKILL, lost network) is replaced within one poll interval: its lease runs out at
most 0.75 intervals after its last renewal, and a standby tries every 0.25.

A holder that cannot renew (the lease was taken, or the database is away) stops
polling at once: two pollers on one mailbox would each move the other's mail
(EXPUNGEISSUED) and copy it twice into the processed folder. While the database is
away (store.db.is_store_unavailable: a PostgreSQL restart or failover) the lease counts
as not held and is tried again every third of its length, so the poller resumes once
the store is back; before, the error ended the poller's thread and with it the daemon
(tests/e2e/test_store_failover.py).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from gateway.intake.imap_poll import PollContext
from store.db import is_store_unavailable
from store.leases import release, take_or_renew

log = logging.getLogger(__name__)

MIN_LEASE_SECONDS = 1.0


class LeaseLost(Exception):
    """Another node holds the mailbox's lease now: stop polling and stand by."""


def lease_seconds(poll_interval: float) -> float:
    return max(0.75 * poll_interval, MIN_LEASE_SECONDS)


def _take(sessions: sessionmaker[Session], name: str, node: str, now: datetime, seconds: float) -> bool:
    with sessions.begin() as session:
        return take_or_renew(session, name, node, now, seconds)


def _release(sessions: sessionmaker[Session], name: str, node: str) -> None:
    with sessions.begin() as session:
        release(session, name, node)


class MailboxLease:
    """The lease `imap:<account>` as seen by one node's poller."""

    def __init__(self, ctx: PollContext, node: str) -> None:
        self.ctx, self.node = ctx, node
        self.name = f"imap:{ctx.account.name}"
        self.seconds = lease_seconds(ctx.account.poll_interval)
        self.held = False
        self.store_away = False

    @property
    def renew_every(self) -> float:
        return self.seconds / 3

    def _try(self) -> bool:
        try:
            held = bool(self.ctx.run_db(_take, self.ctx.sessions, self.name, self.node, self.ctx.clock.now(),
                                        self.seconds))
        except Exception as exc:
            if not is_store_unavailable(exc):
                raise
            if not self.store_away:
                log.warning("imap[%s]: the store is unavailable (%s); node %s leaves the mailbox alone until "
                            "it is back", self.ctx.account.name, type(exc).__name__, self.node)
            self.store_away, self.held = True, False
            return False
        if self.store_away:
            log.warning("imap[%s]: the store is back; node %s tries the mailbox lease again", self.ctx.account.name,
                        self.node)
            self.store_away = False
        if held and not self.held:
            log.info("imap[%s]: node %s holds the mailbox lease; polling", self.ctx.account.name, self.node)
        elif self.held and not held:
            log.warning("imap[%s]: node %s lost the mailbox lease to another node; standing by",
                        self.ctx.account.name, self.node)
        self.held = held
        return held

    def wait_until_held(self, stop: threading.Event) -> bool:
        """Stand by until this node holds the lease (True) or `stop` is set (False)."""
        announced = False
        while not stop.is_set():
            if self._try():
                return True
            if not announced and not self.store_away:
                log.info("imap[%s]: another node polls this mailbox; node %s stands by",
                         self.ctx.account.name, self.node)
                announced = True
            if stop.wait(self.renew_every):
                break
        return False

    def renew(self) -> None:
        """Renew the lease, or raise LeaseLost (so the poll stops before touching the mailbox again)."""
        if not self._try():
            raise LeaseLost(f"node {self.node} no longer holds {self.name}")

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            self.ctx.run_db(_release, self.ctx.sessions, self.name, self.node)
        except Exception:  # noqa: BLE001 - the lease then simply runs out
            log.warning("imap[%s]: could not release the mailbox lease; it runs out in %.0f s",
                        self.ctx.account.name, self.seconds)
