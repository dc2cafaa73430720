"""One mail processed once even when two nodes take its two copies at the same moment (issues 11, 15).

gateway.work.prepare drops a mail whose Message-ID and sender an earlier, already processed
inbound row carries. On PostgreSQL with several nodes, two copies of one mail (a customer's
server retrying through another hop, or the same mail by SMTP and by IMAP) can be claimed by
two nodes and decided at once: neither sees the other's row processed, and both would open an
incident. The write transaction therefore takes a transaction-scoped advisory lock per
(Message-ID, sender) and looks again, under the lock, for another copy already processed;
whichever commits first wins, the other is stored as `ignored`, `duplicate-message-id`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.work.effects import Outcome
from gateway.work.prepare import Prepared
from store.db import is_sqlite
from store.inbound import InboundMessage

LOCK_SPACE = b"support-gateway:message-id:"


def _lock_key(message_id: str, sender: str) -> int:
    """A signed 64-bit advisory-lock key for (Message-ID, sender)."""
    digest = hashlib.sha256(LOCK_SPACE + message_id.encode() + b"\0" + sender.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def processed_elsewhere(session: Session, candidates: Iterable[tuple[int, str | None, str | None]],
                        window_days: int, now: datetime) -> dict[int, int]:
    """Of the candidates (inbound id, Message-ID, sender) being written now, those another inbound
    row with the same Message-ID and sender was processed as meanwhile: inbound id → that row's id."""
    wanted: dict[tuple[str, str], list[int]] = {}
    for inbound_id, message_id, sender in candidates:
        if message_id and sender:
            wanted.setdefault((message_id[:998], sender[:320]), []).append(inbound_id)
    if not wanted or not window_days:
        return {}
    for key in sorted(wanted, key=lambda k: _lock_key(*k)):  # one order for every node: no deadlock
        session.execute(select(func.pg_advisory_xact_lock(_lock_key(*key))))
    mine = {i for ids in wanted.values() for i in ids}
    found = session.execute(
        select(InboundMessage.message_id, InboundMessage.from_addr, func.min(InboundMessage.id))
        .where(tuple_(InboundMessage.message_id, InboundMessage.from_addr).in_(list(wanted)),
               InboundMessage.state != codes.RECEIVED, InboundMessage.id.not_in(mine),
               InboundMessage.received_at >= now - timedelta(days=window_days))
        .group_by(InboundMessage.message_id, InboundMessage.from_addr)).all()
    return {inbound_id: original for message_id, sender, original in found
            for inbound_id in wanted[(message_id, sender)]}


def without_copies_processed_elsewhere(app: App, session: Session, outcomes: list[tuple[Prepared, Outcome]],
                                       received: set[int], now: datetime) -> list[tuple[Prepared, Outcome]]:
    """PostgreSQL: a copy of a mail another node processed while we decided it is stored as a duplicate.
    SQLite has one processor, whose batches follow each other, so prepare's check suffices there."""
    if is_sqlite(str(session.get_bind().engine.url)):
        return outcomes
    copies = processed_elsewhere(session, [(item.inbound_id, item.mail.message_id, item.mail.from_addr)
                                           for item, outcome in outcomes if item.inbound_id in received
                                           and item.mail is not None and outcome.state != codes.IGNORED],
                                 app.settings.mail.duplicate_window_days, now)
    return [(item, Outcome(codes.IGNORED, codes.DUPLICATE_MESSAGE_ID,
                           f"the same Message-ID from {item.mail.from_addr if item.mail else '?'} as inbound "
                           f"{copies[item.inbound_id]}, processed meanwhile by another node: processed once"))
            if item.inbound_id in copies else (item, outcome) for item, outcome in outcomes]
