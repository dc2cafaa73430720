"""What the prepare step looks up for threading: known Message-IDs and incidents as core values.

Read-only queries, run outside the write transaction; gateway.core.correlate
decides with what they return.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.core.model import IncidentState
from parsers.model import BounceReport
from store.bounces import hard_bounce_counts
from store.customers import Customer
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


def incident_states(session: Session, numbers: Iterable[int]) -> dict[int, IncidentState]:
    """The incidents with these numbers (those that exist), as the core sees them."""
    wanted = sorted(set(numbers))[:100]
    if not wanted:
        return {}
    states = {}
    for incident, customer in session.execute(
        select(Incident, Customer).join(Customer).where(Incident.number.in_(wanted))
    ):
        states[incident.number] = _state(session, incident, customer)
    return states


def _state(session: Session, incident: Incident, customer: Customer) -> IncidentState:
    rows = session.execute(
        select(IncidentMessage.direction, IncidentMessage.message_id, IncidentMessage.author)
        .where(IncidentMessage.incident_id == incident.id, IncidentMessage.direction.in_(CUSTOMER_VISIBLE))
        .order_by(IncidentMessage.id)
    ).all()
    thread = tuple(message_id for _, message_id, _ in rows if message_id)
    authors = [author for direction, _, author in rows if direction == "in"]
    own_ids = [message_id for direction, message_id, _ in rows if direction == "in" and message_id]
    return IncidentState(
        id=incident.id, number=incident.number, customer_id=incident.customer_id, customer_key=customer.key,
        plan=incident.plan, subject=incident.subject, status=incident.status, side=incident.side,
        severity=incident.severity, assignee=incident.assignee, opened_by=incident.opened_by,
        last_customer_author=authors[-1] if authors else incident.opened_by,
        customer_thread=thread[:1] + thread[1:][-(_THREAD_LIMIT - 1):],
        last_customer_message_id=own_ids[-1] if own_ids else None,
        customer_name=customer.name, locale=customer.locale, charset=customer.charset,
        requested_severity=incident.requested_severity, cues=tuple(incident.cues or ()),
        opened_at=incident.opened_at,
        escalation_level=session.scalar(select(func.count()).select_from(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.type == "escalated",
            IncidentEvent.data["by"].as_string() == "customer")) or 0,
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
