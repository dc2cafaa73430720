"""Read-side queries and text formats for the CLI: incidents, inbound mail, and operator retries."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.core.plan import Plan
from gateway.ops.incident_clock import clock_of, format_clock
from gateway.settings import Settings
from store.checkpoints import ImapMailboxHealth
from store.customers import Customer
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage, InboundRaw
from store.incidents import Incident, IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


class StoreNotReady(Exception):
    """The database is unreachable or has no schema yet; the message says what to do."""


@contextlib.contextmanager
def open_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database, after checking that its schema is there."""
    from store.migrate import current_revision

    engine = make_engine(settings.database_url)
    try:
        try:
            revision = current_revision(engine)
        except OperationalError as exc:
            raise StoreNotReady(f"cannot open the database {safe_url(settings.database_url)}: {exc.orig}") from None
        if revision is None:
            raise StoreNotReady(f"the database {safe_url(settings.database_url)} has no schema yet: "
                                "start the daemon once or run `support-gateway db upgrade`")
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def _ref_number(ref: str) -> int | None:
    text = ref.strip().upper().removeprefix("INC-")
    return int(text) if text.isdigit() else None


ref_number = _ref_number  # `INC-000123` or `123` → 123 (None if neither), for the other commands


def list_incidents(sessions: sessionmaker[Session], *, status: str | None, limit: int) -> list[dict[str, Any]]:
    with sessions() as session:
        query = select(Incident, Customer.key).join(Customer).order_by(Incident.number.desc()).limit(limit)
        if status:
            query = query.where(Incident.status == status)
        return [_incident_summary(incident, key) for incident, key in session.execute(query)]


def _incident_summary(incident: Incident, customer_key: str) -> dict[str, Any]:
    return {
        "ref": incident.ref, "customer": customer_key, "subject": incident.subject,
        "severity": incident.severity, "requested_severity": incident.requested_severity,
        "status": incident.status, "side": incident.side, "plan": incident.plan,
        "opened_by": incident.opened_by, "opened_at": incident.opened_at.isoformat(),
    }


def show_incident(sessions: sessionmaker[Session], ref: str, plan_for: Callable[[str, str], Plan] | None = None,
                  now: datetime | None = None) -> dict[str, Any] | None:
    """One incident with its messages, events, letters and (given the plans and `now`) its SLA clock."""
    number = _ref_number(ref)
    if number is None:
        return None
    with sessions() as session:
        found = session.execute(
            select(Incident, Customer.key).join(Customer).where(Incident.number == number)
        ).first()
        if found is None:
            return None
        incident, key = found
        detail = _incident_summary(incident, key)
        detail["assignee"], detail["resolution"] = incident.assignee, incident.resolution
        linked = session.get(Incident, incident.linked_to_id) if incident.linked_to_id else None
        detail["linked_to"] = linked.ref if linked else None
        detail["cues"] = incident.cues
        detail["messages"] = [
            {"direction": m.direction, "author": m.author, "at": m.created_at.isoformat(), "subject": m.subject,
             "message_id": m.message_id, "body_text": m.body_text,
             "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                             for a in m.attachments]}
            for m in session.scalars(select(IncidentMessage).where(IncidentMessage.incident_id == incident.id)
                                     .order_by(IncidentMessage.id))
        ]
        detail["events"] = [
            {"at": e.at.isoformat(), "type": e.type, "data": e.data}
            for e in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                                     .order_by(IncidentEvent.id))
        ]
        detail["outbox"] = [
            {"id": o.id, "kind": o.kind, "to": o.rcpt_tos, "state": o.state, "attempts": o.attempts,
             "last_error": o.last_error}
            for o in session.scalars(select(OutboxMessage).where(OutboxMessage.incident_id == incident.id)
                                     .order_by(OutboxMessage.id))
        ]
        outbox = {o.id: o for o in session.scalars(select(OutboxMessage).where(
            OutboxMessage.incident_id == incident.id))}
        detail["letters"] = [  # issue 11: each letter by what it is and who got it, not by our sender address
            {"at": m.created_at.isoformat(), "kind": outbox[m.outbox_id].kind, "to": outbox[m.outbox_id].rcpt_tos,
             "subject": m.subject, "state": outbox[m.outbox_id].state}
            for m in session.scalars(select(IncidentMessage).where(
                IncidentMessage.incident_id == incident.id, IncidentMessage.outbox_id.is_not(None))
                .order_by(IncidentMessage.id)) if m.outbox_id in outbox
        ]
        if plan_for is not None and now is not None:
            detail["clock"] = clock_of(plan_for(incident.plan, key), [
                (e.at, e.type, e.data) for e in session.scalars(select(IncidentEvent).where(
                    IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id))],
                now, incident.requested_severity)
        return detail


def format_incident_line(row: dict[str, Any]) -> str:
    requested = f" (asked {row['requested_severity']})" if row["requested_severity"] else ""
    return (f"{row['ref']}  sev {row['severity']}{requested}  {row['status']:<8} {row['side']:<8} "
            f"{row['customer']:<12} {row['opened_at'][:16]}  {row['subject']}")


def format_incident(detail: dict[str, Any]) -> str:
    lines = [
        f"{detail['ref']}  {detail['subject']}",
        f"  customer: {detail['customer']} (plan {detail['plan']}), opened by {detail['opened_by']} at {detail['opened_at']}",
        f"  severity: {detail['severity']}" + (f", requested {detail['requested_severity']}" if detail["requested_severity"] else ""),
        f"  status:   {detail['status']}, {detail['side']} side"
        + (f", resolved: {detail['resolution']}" if detail.get("resolution") else ""),
    ]
    if detail.get("assignee"):
        lines.append(f"  assignee: {detail['assignee']}")
    if "clock" in detail:
        lines += format_clock(detail["clock"])
    if detail.get("linked_to"):
        lines.append(f"  follows:  {detail['linked_to']} (a recurrence of that incident)")
    lines += [f"  cue:      {c['kind']} {c['rule']} {c['matched']!r} ({c['where']})" for c in detail["cues"]]
    lines.append("  events:")
    lines += [f"    {e['at']}  {e['type']}  {e['data']}" for e in detail["events"]]
    lines.append("  messages:")
    for message in detail["messages"]:
        arrow = "<-" if message["direction"] == "in" else "->"
        lines.append(f"    {message['at']} {arrow} {message['author']}: {message['subject']}")
        lines += [f"       attachment {a['filename']} ({a['content_type']}, {a['size']} bytes)" for a in message["attachments"]]
    lines.append("  letters:")
    lines += [f"    {letter['at'][:16]}  {letter['kind']} to {', '.join(letter['to'])} ({letter['state']}): "
              f"{letter['subject']}" for letter in detail.get("letters", [])]
    lines.append("  outbox:")
    lines += [f"    #{o['id']} {o['kind']} to {', '.join(o['to'])}: {o['state']} after {o['attempts']} attempt(s)"
              + (f" — {o['last_error']}" if o["last_error"] else "") for o in detail["outbox"]]
    return "\n".join(lines)


def list_inbound(sessions: sessionmaker[Session], *, state: str | None, limit: int) -> list[dict[str, Any]]:
    with sessions() as session:
        query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
        if state:
            query = query.where(InboundMessage.state == state)
        return [_inbound_summary(row) for row in session.scalars(query)]


def _inbound_summary(row: InboundMessage) -> dict[str, Any]:
    return {
        "id": row.id, "state": row.state, "reason": row.reason, "source": row.source,
        "received_at": row.received_at.isoformat(), "mail_from": row.mail_from, "from": row.from_addr,
        "subject": row.subject, "size": row.size, "message_id": row.message_id, "detail": row.detail,
        "incident_id": row.incident_id, "anomalies": row.anomalies or [],
    }


def show_inbound(sessions: sessionmaker[Session], inbound_id: int, *, raw: bool = False) -> dict[str, Any] | None:
    with sessions() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return None
        detail = _inbound_summary(row)
        detail["rcpt_tos"] = row.rcpt_tos
        detail["sha256"] = row.sha256
        detail["authentication"] = row.authentication.get("summary") if row.authentication else None
        if raw:
            stored = session.get(InboundRaw, inbound_id)
            detail["raw"] = stored.raw if stored is not None else b""
        return detail


def format_inbound_line(row: dict[str, Any]) -> str:
    return (f"#{row['id']:<6} {row['state']:<11} {row['reason'] or '':<18} {row['received_at'][:19]}  "
            f"{row['from'] or row['mail_from'] or '<>'}  {row['subject'] or ''}")


def format_inbound(detail: dict[str, Any]) -> str:
    return "\n".join(f"  {key}: {value}" for key, value in detail.items())


def retry_inbound(sessions: sessionmaker[Session], inbound_id: int) -> bool:
    """Put a quarantined mail back in the queue, e.g. after its sender was added as a contact."""
    with sessions.begin() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.state != codes.QUARANTINED:
            return False
        row.state, row.reason, row.detail, row.processed_at = codes.RECEIVED, None, None, None
        return True


# -- IMAP mailbox health (issue 3): `support-gateway status` -------------------------------------


def imap_status(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Per mailbox: last successful poll, last error, counts; configured accounts first, never-polled included.

    `stale` is set when the last good poll is older than three poll intervals (plus a minute): a stuck poller.
    """
    with sessions() as session:
        rows = {(r.account, r.mailbox): r for r in session.scalars(select(ImapMailboxHealth))}
    result = []
    for account in settings.imap:
        row = rows.pop((account.name, account.mailbox), None)
        limit = 3 * account.poll_interval + 60
        stale = row is None or row.last_success_at is None or (now - row.last_success_at).total_seconds() > limit
        result.append(_imap_summary(account.name, account.mailbox, row, configured=True, stale=stale))
    for (name, mailbox), row in sorted(rows.items()):
        result.append(_imap_summary(name, mailbox, row, configured=False, stale=False))
    return result


def _imap_summary(account: str, mailbox: str, row: ImapMailboxHealth | None, *, configured: bool,
                  stale: bool) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "account": account, "mailbox": mailbox, "configured": configured, "stale": stale,
        "last_success_at": at(row.last_success_at) if row else None,
        "last_poll_at": at(row.last_poll_at) if row else None,
        "last_error": row.last_error if row else None, "last_error_at": at(row.last_error_at) if row else None,
        "consecutive_failures": row.consecutive_failures if row else 0,
        "uidvalidity": row.uidvalidity if row else None,
        "imported": row.imported if row else 0, "duplicates": row.duplicates if row else 0,
        "quarantined": row.quarantined if row else 0, "unreadable": row.unreadable if row else 0,
    }


def format_imap_status(row: dict[str, Any]) -> str:
    state = "STALE" if row["stale"] else "ok"
    if not row["configured"]:
        state = "not configured any more"
    lines = [
        f"imap {row['account']} {row['mailbox']}: {state}",
        f"  last successful poll: {row['last_success_at'] or 'never'}",
        "  last error:           " + (f"{row['last_error_at']}  {row['last_error']}" if row["last_error"] else "none")
        + (f" ({row['consecutive_failures']} failure(s) in a row)" if row["consecutive_failures"] else ""),
        f"  imported {row['imported']}, duplicates {row['duplicates']}, quarantined {row['quarantined']}, "
        f"unreadable {row['unreadable']}",
    ]
    return "\n".join(lines)
