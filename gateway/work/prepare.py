"""Step 1 of processing a batch, outside any write transaction: parse, look up, decide (pure).

For each received mail: load the raw bytes, parse once, look up the sender's role,
the incidents the threading clues point at and (with [authentication]) who really
sent it, then decide. Mails are decided in order, and each decision's resulting
incident state is what the next mail of the batch about that incident sees.
Nothing here writes; gateway.work.processor plans and writes the outcomes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App
from gateway.core.correlate import extract_clues, wanted_numbers
from gateway.core.decide import decide
from gateway.core.model import Action, AuthVerdict, Context, Decision, Envelope, IncidentState
from gateway.work.authentication import Authenticator, authenticator_for
from gateway.work.directory import SenderCache
from gateway.work.threads import bounce_lookups, incident_states, numbers_for_message_ids
from parsers import ParsedMail, UnparseableMail, parse_mail
from store.db import is_store_unavailable
from store.inbound import InboundMessage
from store.sql import fetch_raw

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """Phase 1's result for one mail: a decision, or why it must be quarantined."""

    inbound_id: int
    mail: ParsedMail | None = None
    decision: Decision | None = None
    failure: tuple[str, str] | None = None  # (reason code, detail)
    authentication: AuthVerdict | None = None  # kept on the inbound row (issue 10)


@dataclass
class Batch:
    """What prepare keeps for a batch: senders' roles, incidents as the last decision left them."""

    senders: SenderCache
    incidents: dict[int, IncidentState]
    authenticator: Authenticator | None = None  # None: [authentication] is off
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (Message-ID, sender) -> first inbound id


def prepare_all(app: App, readers: sessionmaker[Session], ids: list[int], senders: SenderCache | None = None,
                 authenticator: Authenticator | None = None) -> list[Prepared]:
    batch = Batch(senders or SenderCache(), {}, authenticator or authenticator_for(app.settings))
    with readers() as session:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.mail_from, InboundMessage.rcpt_tos, InboundMessage.received_at)
            .where(InboundMessage.id.in_(ids))
            .order_by(InboundMessage.id)
        ).all()
        raws = fetch_raw(session, ids)
        return [_prepare(session, app, inbound_id, raws.pop(inbound_id), mail_from, rcpt_tos, batch, received_at)
                for inbound_id, mail_from, rcpt_tos, received_at in rows]


def _prepare(session: Session, app: App, inbound_id: int, raw: bytes, mail_from: str, rcpt_tos: list[str],
             batch: Batch, received_at: datetime) -> Prepared:
    try:
        mail = parse_mail(raw, app.limits)
    except UnparseableMail as exc:  # a bound of [mail] is its own reason (issue 13)
        return Prepared(inbound_id, failure=(exc.code if exc.code in codes.LIMIT_REASONS else codes.UNPARSEABLE,
                                             str(exc)))
    original = _duplicate_of(session, app, inbound_id, mail, received_at, batch)
    if original is not None:
        return Prepared(inbound_id, mail, Decision(
            Action.IGNORE, codes.DUPLICATE_MESSAGE_ID,
            detail=f"the same Message-ID from {mail.from_addr} as inbound {original}: processed once"))
    try:
        envelope = Envelope(mail_from, tuple(rcpt_tos))
        context = _context(session, app, raw, mail, envelope, batch)
        decision = decide(mail, envelope, context, app.policy)
    except Exception as exc:  # noqa: BLE001 - a bug on one mail quarantines that mail only
        if is_store_unavailable(exc):
            raise  # the store's trouble, not the mail's: the batch fails and is tried again (issue 15)
        log.exception("inbound %s: decision failed", inbound_id)
        return Prepared(inbound_id, mail, failure=(codes.PROCESSING_FAILED, f"{type(exc).__name__}: {exc}"))
    if decision.after is not None:
        batch.incidents[decision.after.number] = decision.after
    return Prepared(inbound_id, mail, decision, authentication=context.authentication)


def _duplicate_of(session: Session, app: App, inbound_id: int, mail: ParsedMail, received_at: datetime,
                  batch: Batch) -> int | None:
    """The earlier inbound row with this mail's Message-ID and sender, if within [mail] duplicate_window_days.

    Issue 11: a customer's server retrying through another hop (another
    Received: header, so other bytes) or the same mail by SMTP and IMAP must
    not open two incidents and send two acks. The Message-ID alone is not
    enough (RFC 5322 §3.6.4 makes it unique only per sender in practice, and a
    stranger could replay a known id to silence a contact), so the sender must
    match too. Earlier mails of this batch count (`batch.seen`); the copy is
    stored, `ignored` with reason `duplicate-message-id`.
    """
    days = app.settings.mail.duplicate_window_days
    if not days or not mail.message_id or not mail.from_addr:
        return None
    key = (mail.message_id[:998], mail.from_addr[:320])
    if key in batch.seen:
        return batch.seen[key]
    earlier = session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.message_id == key[0], InboundMessage.from_addr == key[1],
            InboundMessage.id < inbound_id, InboundMessage.state != codes.RECEIVED,
            InboundMessage.received_at >= received_at - timedelta(days=days))
        .order_by(InboundMessage.id).limit(1))
    batch.seen[key] = earlier if earlier is not None else inbound_id
    return earlier


def _context(session: Session, app: App, raw: bytes, mail: ParsedMail, envelope: Envelope,
             batch: Batch) -> Context:
    """What decide() needs: the sender's role, known Message-IDs, the incidents, who really sent it."""
    sender = batch.senders.sender(session, mail.from_addr, app.settings.engineers)
    clues = extract_clues(mail, envelope, app.policy.own_addresses)
    returned = mail.bounce.original_message_ids if mail.bounce else ()  # the letters a bounce returns
    by_message_id = numbers_for_message_ids(session, (*clues.message_ids, *returned))
    numbers = wanted_numbers(clues, by_message_id) | {by_message_id[m] for m in returned if m in by_message_id}
    missing = numbers - batch.incidents.keys()
    batch.incidents.update(incident_states(session, missing))
    incidents = {n: batch.incidents[n] for n in numbers if n in batch.incidents}
    verdict = batch.authenticator.verdict(raw, mail) if batch.authenticator is not None else None
    return Context(sender, clues, by_message_id, incidents, verdict, *bounce_lookups(session, mail.bounce))
