"""What the prepare step looks up for threading: known Message-IDs and incidents as core values.

Read-only queries, run outside the write transaction; gateway.core.correlate
decides with what they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.core.model import IncidentState
from gateway.core.sla_model import ClockEvent
from parsers.model import BounceReport
from store.bounces import hard_bounce_counts
from store.customers import Contact, Customer
from store.incidents import Incident, IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage

CUSTOMER_VISIBLE = ("in", "out")  # IncidentMessage directions of the customer's conversation
_THREAD_LIMIT = 50  # Message-IDs kept for References (RFC 5322 §3.6.4 allows trimming the middle)


def numbers_for_message_ids(session: Session, message_ids: Iterable[str]) -> dict[str, int]:
    """Message-ID → incident number, for every id we stored (inbound) or sent (outbox).

    A sent mail is known by our Message-ID and by the one the relay gave it when
    it rewrote ours (Exchange Online and SES do): customers' replies quote that one.
    """
    ids = [m for m in dict.fromkeys(message_ids) if m][:100]
    if not ids:
        return {}
    found: dict[str, int] = {}
    for message_id, number in session.execute(
        select(OutboxMessage.message_id, Incident.number)
        .join(Incident, Incident.id == OutboxMessage.incident_id)
        .where(OutboxMessage.message_id.in_(ids))
    ):
        found.setdefault(message_id, number)
    for message_id, number in session.execute(
        select(OutboxMessage.relay_message_id, Incident.number)
        .join(Incident, Incident.id == OutboxMessage.incident_id)
        .where(OutboxMessage.relay_message_id.in_(ids))
    ):
        found.setdefault(message_id, number)
    for message_id, number in session.execute(
        select(IncidentMessage.message_id, Incident.number)
        .join(Incident, Incident.id == IncidentMessage.incident_id)
        .where(IncidentMessage.message_id.in_(ids))
    ):
        found.setdefault(message_id, number)
    return found


def incident_states(session: Session, numbers: Iterable[int],
                    logs: Mapping[int, Sequence[ClockEvent]] | None = None) -> dict[int, IncidentState]:
    """The incidents with these numbers (those that exist), as the core sees them.

    `logs` (incident id → events) is given by a caller that already read the
    events (the scheduler), so they are not read twice.
    """
    wanted = sorted(set(numbers))[:100]
    if not wanted:
        return {}
    found = list(session.execute(select(Incident, Customer).join(Customer).where(Incident.number.in_(wanted))))
    ids = [incident.id for incident, _ in found]
    messages: dict[int, list[tuple[str, str | None, str]]] = {i: [] for i in ids}
    for incident_id, direction, message_id, author in session.execute(  # one query for all, not one each
        select(IncidentMessage.incident_id, IncidentMessage.direction, IncidentMessage.message_id,
               IncidentMessage.author)
        .where(IncidentMessage.incident_id.in_(ids), IncidentMessage.direction.in_(CUSTOMER_VISIBLE))
        .order_by(IncidentMessage.incident_id, IncidentMessage.id)):
        messages[incident_id].append((direction, message_id, author))
    if logs is None:
        read: dict[int, list[ClockEvent]] = {i: [] for i in ids}
        for incident_id, at, type_, data in session.execute(
            select(IncidentEvent.incident_id, IncidentEvent.at, IncidentEvent.type, IncidentEvent.data)
            .where(IncidentEvent.incident_id.in_(ids)).order_by(IncidentEvent.incident_id, IncidentEvent.id)):
            read[incident_id].append(ClockEvent(at, type_, data or {}))
        logs = read
    names = _contact_names(session, (_last_author(i, messages[i.id]) for i, _ in found))
    return {incident.number: _state(incident, customer, messages[incident.id], logs.get(incident.id, ()), names)
            for incident, customer in found}


def _last_author(incident: Incident, rows: list[tuple[str, str | None, str]]) -> str:
    """Who wrote the customer's latest mail (the opener if no mail is stored): letters greet them."""
    authors = [author for direction, _, author in rows if direction == "in"]
    return authors[-1] if authors else incident.opened_by


def _contact_names(session: Session, addresses: Iterable[str]) -> dict[str, str]:
    """Registered contact names by lower-cased address, for all asked incidents in one query (issue 14 speed)."""
    wanted = sorted({a.lower() for a in addresses if a})
    if not wanted:
        return {}
    rows = session.execute(select(Contact.address, Contact.name).where(Contact.address.in_(wanted)))
    return {address: name for address, name in rows}


def _state(incident: Incident, customer: Customer, rows: list[tuple[str, str | None, str]],
           known: Sequence[ClockEvent], names: Mapping[str, str]) -> IncidentState:
    log = tuple(known)
    thread = tuple(message_id for _, message_id, _ in rows if message_id)
    own_ids = [message_id for direction, message_id, _ in rows if direction == "in" and message_id]
    last_author = _last_author(incident, rows)
    return IncidentState(
        id=incident.id, number=incident.number, customer_id=incident.customer_id, customer_key=customer.key,
        plan=incident.plan, subject=incident.subject, status=incident.status, side=incident.side,
        severity=incident.severity, assignee=incident.assignee, opened_by=incident.opened_by,
        last_customer_author=last_author,
        contact_name=names.get(last_author.lower(), "") or "",
        customer_thread=thread[:1] + thread[1:][-(_THREAD_LIMIT - 1):],
        last_customer_message_id=own_ids[-1] if own_ids else None,
        customer_name=customer.name, locale=customer.locale, charset=customer.charset,
        requested_severity=incident.requested_severity, cues=tuple(incident.cues or ()),
        opened_at=incident.opened_at,
        escalation_level=sum(1 for e in log if e.type == "escalated" and e.data.get("by") == "customer"),
        clock_log=log,
    )


def sent_message_ids(session: Session, message_ids: Iterable[str]) -> frozenset[str]:
    """Which of these Message-IDs are letters we sent (ours or the relay's rewrite of ours)."""
    ids = [m for m in dict.fromkeys(message_ids) if m][:100]
    if not ids:
        return frozenset()
    found = set(session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(ids))))
    found |= set(session.scalars(select(OutboxMessage.relay_message_id)
                                 .where(OutboxMessage.relay_message_id.in_(ids))))
    return frozenset(found)


def bounce_lookups(session: Session, bounce: BounceReport | None) -> tuple[frozenset[str], dict[str, int]]:
    """For a bounce: which quoted Message-IDs are our letters, and each failed address's hard bounces so far."""
    if bounce is None:
        return frozenset(), {}
    return (sent_message_ids(session, bounce.original_message_ids),
            hard_bounce_counts(session, (r.address for r in bounce.recipients)))
