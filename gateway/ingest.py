"""accept_raw(): the ONLY way mail enters the gateway.

SMTP answers 250 and IMAP moves a message only after this has committed the raw
bytes. The sha256 of the bytes is unique, so a second delivery of the same mail
(an SMTP retry after a lost 250, an IMAP re-fetch after a crash) is a no-op
that returns the first row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.core.model import Envelope
from store.inbound import InboundMessage
from store.db import retry_when_locked
from store.sql import insert_returning_id_unless_duplicate


@dataclass(frozen=True)
class Accepted:
    inbound_id: int
    duplicate: bool


def accept_raw(
    sessions: sessionmaker[Session],
    raw: bytes,
    envelope: Envelope,
    *,
    source: str,
    now: datetime,
    source_ref: str | None = None,
) -> Accepted:
    """Commit one raw mail durably (one INSERT, one COMMIT) and return its inbound id.

    While another process holds SQLite's write lock, the insert is retried
    every half millisecond (store.db.retry_when_locked) rather than in SQLite's
    own sleeps of up to 100 ms: a sending MTA waits for our 250.
    """
    digest = hashlib.sha256(raw).hexdigest()
    return retry_when_locked(lambda: _insert(sessions, raw, digest, envelope, source, now, source_ref))


def _insert(sessions: sessionmaker[Session], raw: bytes, digest: str, envelope: Envelope, source: str,
            now: datetime, source_ref: str | None) -> Accepted:
    with sessions.begin() as session:
        inbound_id = insert_returning_id_unless_duplicate(session, InboundMessage.__table__, {
            "sha256": digest,
            "raw": raw,
            "size": len(raw),
            "source": source,
            "source_ref": source_ref,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": now,
            "state": codes.RECEIVED,
        })
        if inbound_id is not None:
            return Accepted(inbound_id, duplicate=False)
        existing = session.scalar(select(InboundMessage.id).where(InboundMessage.sha256 == digest))
    if existing is None:  # pragma: no cover - the conflicting row cannot vanish: rows are never deleted
        raise RuntimeError(f"inbound {digest} conflicted but cannot be found")
    return Accepted(existing, duplicate=True)
