"""Every mail the gateway writes, built the same way: template → OutgoingMail → outbox row.

A Letter says who gets what about which incident; `write()` renders it in the
reader's locale, encodes it in their charset, sets Reply-To to the incident's
plus-address and puts the reply token in the footer (issue 4, threading layers
2 and 3), and returns the outbox row with the IncidentMessage and the "notice"
event that record it. Nothing here touches a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gateway.app import App
from gateway.core.tokens import reference, reply_address
from gateway.outbound.mime import OutgoingMail, new_message_id
from gateway.outbound.outbox import outbox_row
from store.rows import NewEvent, NewMessage, NewOutbox


@dataclass(frozen=True)
class Letter:
    kind: str  # gateway.codes KIND_*
    purpose: str  # the template name
    locale: str
    charset: str
    to: tuple[str, ...]
    number: int | None  # the incident it is about (None: no incident, no token)
    direction: str  # IncidentMessage direction: "out" (customer), "notify", "internal"
    context: dict[str, Any] = field(default_factory=dict)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    dedupe_key: str | None = None
    event_data: dict[str, Any] = field(default_factory=dict)  # e.g. the SLA clock's key of the notice
    customer_key: str | None = None  # whose incident: on the TAM plan their TAM is copied (see write)


@dataclass(frozen=True)
class Written:
    outbox: NewOutbox
    message: NewMessage
    event: NewEvent


def tam_copies(app: App, customer_key: str | None) -> tuple[str, ...]:
    """seeds/000 §4.1: on a plan that copies the TAM, the customer's TAM gets every notice."""
    customer = next((c for c in app.settings.customers if c.key == customer_key), None)
    if customer is None or not customer.tam or customer.plan not in app.plans.plans:
        return ()
    return (customer.tam,) if app.plans.get(customer.plan).copy_tam_on_notices else ()


def write(app: App, letter: Letter, now: datetime) -> Written:
    """Render and encode one letter; the caller attaches the rows to an incident.

    A letter to the customer about an incident also goes to the customer's TAM
    when their plan says so (the `tam` plan): acks, relayed answers, severity
    changes, resolutions and scheduled notices alike.
    """
    if letter.direction == "out" and letter.number is not None:
        letter = replace(letter, to=tuple(dict.fromkeys((*letter.to, *tam_copies(app, letter.customer_key)))))
    secret = app.policy.token_secret
    numbered = letter.number is not None
    ref = f"INC-{letter.number:06d}" if numbered else ""
    rendered = app.renderer.render(
        letter.purpose, letter.locale,
        gateway_name=app.settings.gateway.name,
        ref=ref,
        reference=reference(secret, letter.number) if numbered else "",  # type: ignore[arg-type]
        **letter.context,
    )
    outgoing = OutgoingMail(
        mail_from=app.sender_address,
        from_name=app.settings.gateway.name,
        to=letter.to,
        subject=rendered.subject,
        body=rendered.body,
        message_id=new_message_id(app.sender_domain),
        date=now,
        charset=letter.charset,
        in_reply_to=letter.in_reply_to,
        references=letter.references,
        loop_marker=app.settings.gateway.loop_marker,
        reply_to=reply_address(app.sender_address, secret, letter.number) if numbered else app.sender_address,  # type: ignore[arg-type]
    )
    row = outbox_row(outgoing, kind=letter.kind, now=now, dedupe_key=letter.dedupe_key)
    message = NewMessage(direction=letter.direction, outbox=row, message_id=outgoing.message_id,
                              author=app.sender_address, subject=rendered.subject, body_text=rendered.body,
                              created_at=now)
    event = NewEvent(at=now, type="notice", data={
        "kind": letter.kind, "to": list(letter.to), "message_id": outgoing.message_id, **letter.event_data})
    return Written(row, message, event)


def thread_of(message_id: str | None, references: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for an answer to `message_id` (RFC 5322 §3.6.4)."""
    if not message_id:
        return None, references
    return message_id, (*references, message_id) if message_id not in references else references
