"""Who holds an outbox row while it is being sent, and what to do when that one died mid-send.

Claiming pushes a row's `next_attempt_at` a lease ahead (gateway.outbound.sender), so a sender
that is SIGKILLed mid-batch leaves its rows untouched for the lease (5 minutes) — late notices
after every crash. Each claim therefore names its claimant, `node:pid:generation`: the node
(`[gateway] node`, issue 15), the work process, and a random word that tells a restarted
process with a recycled pid from its predecessor. A new work process on the same node releases
the claims of claimants whose process is gone, at once (issue 10 item 5): the one message that
was on the wire when the process died may go twice — SMTP cannot avoid that, the relay may
have queued it without our hearing its 250 — and is resent with the same Message-ID, so
receivers can drop the copy (RFC 5322 §3.6.4). Claims of other nodes are never touched here:
another node's process cannot be seen from this host, and its lease covers it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from store.outbox import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimant:
    node: str
    pid: int
    generation: str

    @classmethod
    def for_this_process(cls, node: str) -> Claimant:
        return cls(node, os.getpid(), secrets.token_hex(4))

    def __str__(self) -> str:
        return f"{self.node}:{self.pid}:{self.generation}"

    @classmethod
    def parse(cls, text: str) -> Claimant | None:
        """The claimant a `claimed_by` value names, or None for anything else."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    return True


def release_dead_claims(sessions: sessionmaker[Session], me: Claimant, now: datetime,
                        alive: Callable[[int], bool] = process_alive) -> list[int]:
    """Make the rows a dead work process of this node had claimed due now; their ids."""
    outbox = OutboxMessage.__table__
    with sessions.begin() as session:
        held = session.execute(
            select(outbox.c.id, outbox.c.claimed_by)
            .where(outbox.c.state == codes.OUT_QUEUED, outbox.c.claimed_by.like(f"{_escaped(me.node)}:%", escape="\\"),
                   outbox.c.claimed_by != str(me))).all()
        dead = [row.id for row in held if _is_dead(Claimant.parse(row.claimed_by), me, alive)]
        if dead:
            session.execute(update(outbox).where(outbox.c.id.in_(dead), outbox.c.state == codes.OUT_QUEUED)
                            .values(next_attempt_at=now, claimed_by=None,
                                    last_error="claimed by a work process that died mid-send; sent again "
                                               "(the same Message-ID)"))
    if dead:
        log.warning("outbox %s: released the claims of a work process of node %s that died mid-send",
                    dead, me.node)
    return dead


def _is_dead(claimant: Claimant | None, me: Claimant, alive: Callable[[int], bool]) -> bool:
    if claimant is None or claimant.node != me.node:
        return False
    if claimant.pid == me.pid:  # our own pid with another generation: the old holder is gone
        return claimant.generation != me.generation
    return not alive(claimant.pid)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
