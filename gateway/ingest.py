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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.core.model import Envelope
from store.inbound import InboundMessage


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
    """Commit one raw mail durably and return its inbound id."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = _find(sessions, digest)
    if existing is not None:
        return Accepted(existing, duplicate=True)
    row = InboundMessage(
        sha256=digest,
        raw=raw,
        size=len(raw),
        source=source,
        source_ref=source_ref,
        mail_from=envelope.mail_from,
        rcpt_tos=list(envelope.rcpt_tos),
        received_at=now,
        state=codes.RECEIVED,
    )
    try:
        with sessions.begin() as session:
            session.add(row)
            session.flush()
            inbound_id = row.id
    except IntegrityError:
        # Another connection committed the same bytes between our look-up and insert.
        existing = _find(sessions, digest)
        if existing is None:
            raise
        return Accepted(existing, duplicate=True)
    return Accepted(inbound_id, duplicate=False)


def _find(sessions: sessionmaker[Session], digest: str) -> int | None:
    with sessions() as session:
        return session.scalar(select(InboundMessage.id).where(InboundMessage.sha256 == digest))
