"""What the daemon is doing, from the store: one snapshot for `/metrics`, `/healthz`, `status` and the digest.

Everything here is read from the database, not from counters in a process: the figures
survive a restart, agree between the daemon and `support-gateway status` run beside it,
and the work process (which does the processing) needs no channel to report them. What
only a running process knows (how long ago its work loop last went round) is added by
gateway.daemon.metrics_http.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from gateway import codes
from gateway.settings import Settings
from store.checkpoints import ImapMailboxHealth
from store.inbound import InboundMessage
from store.incidents import Incident, IncidentEvent
from store.outbox import OutboxMessage
from store.outbox_repair import backlog

# An IMAP mailbox is stale when it has had no successful poll for three poll intervals and a minute;
# its poller is stuck when it has not even tried (no poll, no error) for as long.
STALE_POLLS, STALE_GRACE_SECONDS = 3, 60
# Upper bounds of the send-latency histogram, in seconds: from "the relay took it at once" to
# "it waited out a day of retries" (the sender's back-off goes up to hours).
SEND_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def intake(session: Session, now: datetime) -> dict[str, Any]:
    """Received mail by (source, state, reason), and the backlog not yet processed with its oldest age."""
    rows = session.execute(select(InboundMessage.source, InboundMessage.state, InboundMessage.reason, func.count())
                           .group_by(InboundMessage.source, InboundMessage.state, InboundMessage.reason)).all()
    waiting = InboundMessage.state == codes.RECEIVED
    oldest = session.scalar(select(func.min(InboundMessage.received_at)).where(waiting))
    quarantined: dict[str, int] = {}
    for _source, state, reason, count in rows:
        if state == codes.QUARANTINED:
            quarantined[reason or "-"] = quarantined.get(reason or "-", 0) + int(count)
    return {
        "by_outcome": [{"source": s, "state": st, "reason": r or "", "count": int(c)} for s, st, r, c in rows],
        "unprocessed": sum(int(c) for _s, st, _r, c in rows if st == codes.RECEIVED),
        "oldest_unprocessed_seconds": max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        "quarantined": sum(quarantined.values()), "quarantined_by_reason": quarantined,
    }


def imap_mailboxes(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Each configured [[imap]] mailbox: last good poll, failures in a row, stale (no good poll) and stuck (no try)."""
    rows = {(r.account, r.mailbox): r for r in session.scalars(select(ImapMailboxHealth))}
    result = []
    for account in settings.imap:
        row = rows.get((account.name, account.mailbox))
        limit = STALE_POLLS * account.poll_interval + STALE_GRACE_SECONDS
        success = row.last_success_at if row else None
        tried = max((t for t in (row.last_poll_at, row.last_error_at) if t), default=None) if row else None
        result.append({
            "account": account.name, "mailbox": account.mailbox,
            "last_success_at": success.isoformat() if success else None,
            "last_success_age_seconds": (now - success).total_seconds() if success else None,
            "last_error": row.last_error if row else None,
            "consecutive_failures": row.consecutive_failures if row else 0,
            "imported": row.imported if row else 0, "quarantined": row.quarantined if row else 0,
            "stale": success is None or (now - success).total_seconds() > limit,
            "stuck": tried is not None and (now - tried).total_seconds() > limit,
        })
    return result


def incidents(session: Session) -> dict[str, Any]:
    """Incidents by status, and missed first responses (the scheduler's `response` events with breached)."""
    by_status = dict(session.execute(select(Incident.status, func.count()).group_by(Incident.status)).all())
    breaches = 0
    for data in session.scalars(select(IncidentEvent.data).where(IncidentEvent.type == "response")):
        breaches += bool(data and data.get("breached") and not data.get("met_at"))  # a late answer: same breach
    return {"by_status": {str(k): int(v) for k, v in by_status.items()}, "sla_breaches": breaches}


def send_latency(session: Session) -> dict[str, Any]:
    """How long outgoing mail waited from its outbox row's creation to the relay's 250, as a histogram.

    Derived from the rows (created_at, sent_at) at each look, not counted by the process that
    sends: the work process that records the 250 is not the daemon that serves /metrics, and the
    figures then survive restarts. One aggregate query; the buckets are cumulative, as Prometheus'.
    """
    if session.get_bind().dialect.name == "sqlite":  # UTCDateTime stores naive UTC text there
        waited = (func.julianday(OutboxMessage.sent_at) - func.julianday(OutboxMessage.created_at)) * 86400.0
    else:
        waited = cast(func.extract("epoch", OutboxMessage.sent_at - OutboxMessage.created_at), Float)
    columns = [func.count(), func.coalesce(func.sum(waited), 0.0)]
    columns += [func.coalesce(func.sum(case((waited <= bound, 1), else_=0)), 0) for bound in SEND_BUCKETS]
    count, total, *within = session.execute(select(*columns).where(OutboxMessage.sent_at.is_not(None))).one()
    return {"count": int(count), "sum_seconds": max(float(total), 0.0),
            "buckets": [[bound, int(n)] for bound, n in zip(SEND_BUCKETS, within, strict=True)]}


def snapshot(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything `status --json` prints and `/metrics` exports, read in one session."""
    return {"at": now.isoformat(), "intake": intake(session, now), "imap": imap_mailboxes(session, settings, now),
            "outbox": backlog(session, now), "send_latency": send_latency(session), "incidents": incidents(session)}
