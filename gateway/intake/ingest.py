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

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.core.model import Envelope
from store.db import engine_of, retry_when_locked
from store.inbound_insert import NewInbound, insert_inbound


@dataclass(frozen=True)
class Accepted:
    inbound_id: int
    duplicate: bool


@dataclass(frozen=True)
class Arrival:
    """One mail to accept, as the intake received it.

    `state` is `received` (the processor will take it) unless the intake already
    knows better: an IMAP mail over the size limit is stored `quarantined` with
    its reason, in the same INSERT, so no processor can take it in between.
    """

    raw: bytes
    envelope: Envelope
    source: str
    source_ref: str | None = None
    state: str = codes.RECEIVED
    reason: str | None = None
    detail: str | None = None
    # The dedupe key when it is not the sha256 of `raw`: SMTP and LMTP hash the bytes as they
    # arrived, before our Received: line (gateway.intake.received), so a retry matches.
    digest: str | None = None


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
    own sleeps of up to 100 ms: a sending MTA waits for our 250. The transaction
    is a plain Core one, not an ORM session: the intake pays for every step.
    """
    rows = new_rows(arrivals, now)
    engine = engine_of(sessions)

    def attempt() -> list[Accepted]:
        with engine.begin() as connection:
            return insert_arrivals(connection, rows)

    return retry_when_locked(attempt)


def new_rows(arrivals: list[Arrival], now: datetime) -> list[NewInbound]:
    """The rows to insert for `arrivals` (hashing done once, outside any retry)."""
    return [NewInbound(a.digest or hashlib.sha256(a.raw).hexdigest(), a.raw, a.source, a.source_ref, a.envelope.mail_from,
                       a.envelope.rcpt_tos, now, a.state, a.reason, a.detail) for a in arrivals]


def insert_arrivals(connection: Connection, rows: list[NewInbound]) -> list[Accepted]:
    """Insert in the caller's transaction (IMAP adds its ledger rows to the same one)."""
    return [Accepted(inbound_id, duplicate) for inbound_id, duplicate in insert_inbound(connection, rows)]
