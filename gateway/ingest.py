"""accept_raw() / accept_many(): the ONLY way mail enters the gateway.

SMTP answers 250 and IMAP moves a message only after this has committed the raw
bytes. The sha256 of the bytes is unique, so a second delivery of the same mail
(an SMTP retry after a lost 250, an IMAP re-fetch after a crash) is a no-op
that returns the first row. accept_many() commits several mails in one
transaction (group commit): one fsync for all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.core.model import Envelope
from store.db import retry_when_locked
from store.inbound import InboundMessage
from store.sql import insert_returning_id_unless_duplicate


@dataclass(frozen=True)
class Accepted:
    inbound_id: int
    duplicate: bool


@dataclass(frozen=True)
class Arrival:
    """One mail to accept, as the intake received it."""

    raw: bytes
    envelope: Envelope
    source: str
    source_ref: str | None = None


def accept_raw(
    sessions: sessionmaker[Session],
    raw: bytes,
    envelope: Envelope,
    *,
    source: str,
    now: datetime,
    source_ref: str | None = None,
) -> Accepted:
    """Commit one raw mail durably (one INSERT, one COMMIT) and return its inbound id."""
    return accept_many(sessions, [Arrival(raw, envelope, source, source_ref)], now)[0]


def accept_many(sessions: sessionmaker[Session], arrivals: list[Arrival], now: datetime) -> list[Accepted]:
    """Commit several raw mails in one transaction; return their ids in order.

    While another process holds SQLite's write lock, the transaction is retried
    every half millisecond (store.db.retry_when_locked) rather than in SQLite's
    own sleeps of up to 100 ms: a sending MTA waits for our 250.
    """
    digests = [hashlib.sha256(arrival.raw).hexdigest() for arrival in arrivals]
    return retry_when_locked(lambda: _insert_all(sessions, arrivals, digests, now))


def _insert_all(sessions: sessionmaker[Session], arrivals: list[Arrival], digests: list[str],
                now: datetime) -> list[Accepted]:
    results: list[Accepted] = []
    with sessions.begin() as session:
        for arrival, digest in zip(arrivals, digests, strict=True):
            results.append(_insert(session, arrival, digest, now))
    return results


def _insert(session: Session, arrival: Arrival, digest: str, now: datetime) -> Accepted:
    inbound_id = insert_returning_id_unless_duplicate(session, InboundMessage.__table__, {
        "sha256": digest,
        "raw": arrival.raw,
        "size": len(arrival.raw),
        "source": arrival.source,
        "source_ref": arrival.source_ref,
        "mail_from": arrival.envelope.mail_from,
        "rcpt_tos": list(arrival.envelope.rcpt_tos),
        "received_at": now,
        "state": codes.RECEIVED,
    })
    if inbound_id is not None:
        return Accepted(inbound_id, duplicate=False)
    existing = session.scalar(select(InboundMessage.id).where(InboundMessage.sha256 == digest))
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish: rows are never deleted
        raise RuntimeError(f"inbound {digest} conflicted but cannot be found")
    return Accepted(existing, duplicate=True)
