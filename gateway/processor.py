"""Turns received inbound rows into outcomes: parse once, decide, apply — one transaction per mail.

A mail that cannot be parsed, or whose processing fails for any reason, is
quarantined with its reason and the loop goes on: one bad mail never stops the
batch, and nothing is lost (the raw bytes stay in the row).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App
from gateway.clock import Clock
from gateway.core.decide import decide
from gateway.core.model import Envelope
from gateway.directory import customer_for_contact
from gateway.effects import apply
from parsers import UnparseableMail, parse_mail
from store.inbound import InboundMessage

log = logging.getLogger(__name__)


def process_pending(app: App, sessions: sessionmaker[Session], clock: Clock, limit: int = 100) -> int:
    """Process up to `limit` received mails, oldest first; return how many were looked at."""
    with sessions() as session:
        ids = list(session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.state == codes.RECEIVED)
            .order_by(InboundMessage.id)
            .limit(limit)
        ))
    for inbound_id in ids:
        process_one(app, sessions, inbound_id, clock.now())
    return len(ids)


def process_one(app: App, sessions: sessionmaker[Session], inbound_id: int, now: datetime) -> str | None:
    """Process one inbound row; return its new state (None if another worker has it)."""
    try:
        with sessions.begin() as session:
            row = session.scalar(
                select(InboundMessage)
                .where(InboundMessage.id == inbound_id, InboundMessage.state == codes.RECEIVED)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            _handle(session, app, row, now)
            log.info("inbound %s: %s (%s)", inbound_id, row.state, row.reason)
            return row.state
    except Exception as exc:  # noqa: BLE001 - quarantine, never crash the daemon
        log.exception("inbound %s: processing failed; quarantined", inbound_id)
        _quarantine(sessions, inbound_id, codes.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}", now)
        return codes.QUARANTINED


def _handle(session: Session, app: App, row: InboundMessage, now: datetime) -> None:
    try:
        mail = parse_mail(row.raw)
    except UnparseableMail as exc:
        row.state, row.reason, row.detail, row.processed_at = codes.QUARANTINED, codes.UNPARSEABLE, str(exc), now
        return
    row.message_id = mail.message_id[:998] if mail.message_id else None
    row.from_addr = mail.from_addr[:320]
    row.subject = mail.subject[:2000]
    envelope = Envelope(row.mail_from, tuple(row.rcpt_tos))
    decision = decide(mail, envelope, customer_for_contact(session, mail.from_addr), app.policy)
    apply(session, app, row, mail, decision, now)


def _quarantine(sessions: sessionmaker[Session], inbound_id: int, reason: str, detail: str, now: datetime) -> None:
    with sessions.begin() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None and row.state == codes.RECEIVED:
            row.state, row.reason, row.detail, row.processed_at = codes.QUARANTINED, reason, detail[:4000], now
