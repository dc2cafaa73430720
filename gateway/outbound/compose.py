"""Every mail the gateway writes, built the same way: Letter → template → OutgoingMail → outbox row.

`write()` renders a Letter in the reader's locale, encodes it in their charset,
sets Reply-To to the incident's plus-address and puts the reply token in the
footer (issue 4, threading layers 2 and 3), and returns the outbox row with the
IncidentMessage and the "notice" event that record it. Nothing here touches a
session: gateway.work attaches the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from gateway.app import App
from gateway.core.tokens import reference, reply_address
from gateway.outbound.letter import TO_CUSTOMER, Letter, tam_copies
from gateway.outbound.mime import OutgoingMail, left_out_ids, new_message_id
from gateway.outbound.outbox import outbox_row
from store.rows import NewEvent, NewMessage, NewOutbox


@dataclass(frozen=True)
class Written:
    outbox: NewOutbox
    message: NewMessage
    event: NewEvent | None  # None for a letter that is not logged (Letter.logged)


def write(app: App, letter: Letter, now: datetime) -> Written:
    """Render and encode one letter; the caller attaches the rows to an incident.

    A letter to the customer about an incident also goes to the customer's TAM
    when their plan says so (the `tam` plan): acks, relayed answers, severity
    changes, resolutions and scheduled notices alike.

    The notice event names the customer's non-ASCII Message-IDs a plain ASCII
    letter had to leave out of its threading headers (gateway.outbound.mime).
    """
    if letter.direction == TO_CUSTOMER and letter.number is not None:
        letter = replace(letter, to=tuple(dict.fromkeys((*letter.to, *tam_copies(app, letter.customer_key)))))
    secret = app.policy.token_secret
    number = letter.number
    rendered = app.renderer.render(
        letter.purpose, letter.locale,
        gateway_name=app.settings.gateway.name,
        ref=f"INC-{number:06d}" if number is not None else "",
        reference=reference(secret, number) if number is not None else "",
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
        reply_to=reply_address(app.sender_address, secret, number) if number is not None else app.sender_address,
    )
    row = outbox_row(outgoing, kind=letter.kind, now=now, dedupe_key=letter.dedupe_key)
    message = NewMessage(direction=letter.direction, outbox=row, message_id=outgoing.message_id,
                         author=app.sender_address, subject=rendered.subject, body_text=rendered.body,
                         created_at=now)
    left_out = left_out_ids(outgoing)
    event = NewEvent(at=now, type="notice", data={
        "kind": letter.kind, "to": list(letter.to), "message_id": outgoing.message_id, **letter.event_data,
        **({"left_out_of_references": left_out} if left_out else {}),
    }) if letter.logged else None
    return Written(row, message, event)
