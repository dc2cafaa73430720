"""The operators' daily digest (issue 12): dead notices, quarantined mail and stale IMAP mailboxes, by mail.

Nobody is told otherwise when an acknowledgement dies or a customer's mail is held, so once a
day, at the first scheduler tick after `[operators] digest_hour` (UTC), and only when there is
something to report, one mail goes to `[operators] addresses` — through the outbox like every
other send, keyed by the day (`dedupe_key`) so a restart or a second daemon never sends it twice.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App
from gateway.clock import Clock
from gateway.health import imap_mailboxes
from gateway.outbound.mime import new_message_id
from store.inbound import InboundMessage
from store.outbox import OutboxMessage
from store.outbox_repair import list_outbox

KIND_DIGEST = "operators-digest"
SHOWN = 20  # rows listed per part; the counts are whole


def digest_key(now: datetime) -> str:
    return f"{KIND_DIGEST}:{now.date().isoformat()}"


def queue_digest(app: App, sessions: sessionmaker[Session], clock: Clock) -> int:
    """Queue today's digest if it is time, not yet queued, and something needs a person; 1 if queued."""
    operators, now = app.settings.operators, clock.now()
    if operators is None or now.hour < operators.digest_hour:
        return 0
    with sessions.begin() as session:
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == digest_key(now))) is not None:
            return 0
        facts = _facts(session, app, now)
        if not (facts["dead"] or facts["quarantined"] or facts["stale"]):
            return 0
        msg = _message(app, list(operators.addresses), facts, now)
        session.add(OutboxMessage(kind=KIND_DIGEST, dedupe_key=digest_key(now),
                                  message_id=str(msg["Message-ID"]).strip("<>"),
                                  mail_from=app.sender_address, rcpt_tos=list(operators.addresses),
                                  raw=msg.as_bytes(policy=SMTP), state=codes.OUT_QUEUED, attempts=0,
                                  next_attempt_at=now, created_at=now))
    return 1


def _facts(session: Session, app: App, now: datetime) -> dict[str, Any]:
    held = list(session.scalars(select(InboundMessage).where(InboundMessage.state == codes.QUARANTINED)
                                .order_by(InboundMessage.id.desc()).limit(SHOWN)))
    return {"dead": list_outbox(session, view="dead", now=now, limit=SHOWN),
            "quarantined": [(row.id, row.reason, row.from_addr or row.mail_from, row.subject) for row in held],
            "stale": [box for box in imap_mailboxes(session, app.settings, now) if box["stale"]]}


def _message(app: App, to: list[str], facts: dict[str, Any], now: datetime) -> EmailMessage:
    lines = [f"What needs a person at {app.settings.gateway.name}, {now:%Y-%m-%d %H:%M} UTC.", ""]
    if facts["dead"]:
        lines += ["Dead outgoing mail (support-gateway outbox retry ID, or --all-dead):"]
        lines += [f"  #{row['id']} {row['kind']} {row['incident'] or '-'} to {', '.join(row['to'])}: "
                  f"{row['last_error'] or '-'}" for row in facts["dead"]] + [""]
    if facts["quarantined"]:
        lines += ["Quarantined mail (support-gateway inbound retry ID / inbound drop ID):"]
        lines += [f"  #{ident} {reason}: {sender} — {subject or ''}" for ident, reason, sender, subject
                  in facts["quarantined"]] + [""]
    if facts["stale"]:
        lines += ["IMAP mailboxes with no successful poll lately:"]
        lines += [f"  {box['account']} {box['mailbox']}: last success {box['last_success_at'] or 'never'}"
                  + (f" ({box['last_error']})" if box["last_error"] else "") for box in facts["stale"]] + [""]
    lines.append("support-gateway status shows the whole picture.")
    msg = EmailMessage()
    msg["From"] = f"{app.settings.gateway.name} <{app.sender_address}>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = (f"[support-gateway] {len(facts['dead'])} dead, {len(facts['quarantined'])} quarantined, "
                      f"{len(facts['stale'])} stale IMAP")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{new_message_id(app.sender_domain)}>"  # RFC 5322 §3.6.4: "<" id ">"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    msg[codes.LOOP_HEADER] = app.settings.gateway.loop_marker
    msg.set_content("\n".join(lines) + "\n")
    return msg
