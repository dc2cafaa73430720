"""Every mail the gateway writes, built the same way: Letter → template → OutgoingMail → outbox row.

`write()` renders a Letter in the reader's locale, encodes it in their charset,
sets Reply-To to the incident's plus-address and puts the reply token in the
footer (issue 4, threading layers 2 and 3) — the customer token, or for an
engineer mailbox an engineer token (issue 10, gateway.outbound.audience) — and
returns, per copy, the outbox row with the IncidentMessage and the "notice"
event that record it. Nothing here touches a session: gateway.work attaches
the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from gateway.app import App
from gateway.core.tokens import (
    engineer_reference,
    engineer_reply_address,
    reference,
    reply_address,
    without_engineer_tokens,
)
from gateway.outbound.audience import Copy, copies
from gateway.outbound.letter import TO_CUSTOMER, Letter, tam_copies
from gateway.outbound.mime import OutgoingMail, left_out_ids, new_message_id
from gateway.outbound.outbox import outbox_row
from store.rows import NewAttachment, NewEvent, NewMessage, NewOutbox


@dataclass(frozen=True)
class Written:
    outbox: NewOutbox
    message: NewMessage
    event: NewEvent | None  # None for a letter that is not logged (Letter.logged), and for further copies


def write(app: App, letter: Letter, now: datetime) -> list[Written]:
    """Render and encode one letter as its copies; the caller attaches the rows to an incident.

    A letter to the customer about an incident also goes to the customer's TAM
    when their plan says so (the `tam` plan): acks, relayed answers, severity
    changes, resolutions and scheduled notices alike. A letter to the vendor
    side is one copy per engineer mailbox (gateway.outbound.audience). The first
    copy carries the letter's dedupe key and its "notice" event (the SLA clock
    reads one per letter); further copies get the key with "/N" appended, so a
    repeated transaction still writes each copy once.

    The notice event names the customer's non-ASCII Message-IDs a plain ASCII
    letter had to leave out of its threading headers (gateway.outbound.mime).
    """
    if letter.direction == TO_CUSTOMER and letter.number is not None:
        letter = replace(letter, to=tuple(dict.fromkeys((*letter.to, *tam_copies(app, letter.customer_key)))))
    return [_copy(app, letter, copy, index, now) for index, copy in enumerate(copies(app, letter))]


def _copy(app: App, letter: Letter, copy: Copy, index: int, now: datetime) -> Written:
    number = letter.number
    reference_text, reply_to = _reply_token(app, number, copy.engineer)
    rendered = app.renderer.render(
        letter.purpose, letter.locale,
        gateway_name=app.settings.gateway.name,
        ref=f"INC-{number:06d}" if number is not None else "",
        reference=reference_text,
        **letter.context,
    )
    subject, body = rendered.subject, rendered.body
    if copy.engineer is None:  # not an engineer mailbox: no engineer token, not even quoted (issue 10)
        subject, body = without_engineer_tokens(subject), without_engineer_tokens(body)
    outgoing = OutgoingMail(
        mail_from=app.sender_address,
        from_name=app.settings.gateway.name,
        to=copy.to,
        subject=subject,
        body=body,
        message_id=letter.message_id if letter.message_id and index == 0 else new_message_id(app.sender_domain),
        date=now,
        charset=letter.charset,
        in_reply_to=letter.in_reply_to,
        references=letter.references,
        loop_marker=app.settings.gateway.loop_marker,
        reply_to=reply_to,
        auto_submitted="" if letter.human else "auto-replied",
        attachments=letter.attachments,
    )
    key = letter.dedupe_key if index == 0 or letter.dedupe_key is None else f"{letter.dedupe_key}/{index}"
    row = outbox_row(outgoing, kind=letter.kind, now=now, dedupe_key=key)
    message = NewMessage(direction=letter.direction, outbox=row, message_id=outgoing.message_id,
                         author=app.sender_address, subject=subject, body_text=body, created_at=now)
    message.attachments.extend(  # the files it carried, by their stored blob (issue 11: `incidents show`)
        NewAttachment(sha256=a.sha256, filename=a.filename, content_type=a.content_type[:200], size=len(a.data),
                      inline=a.inline) for a in letter.attachments if a.sha256)
    left_out = left_out_ids(outgoing)
    event = NewEvent(at=now, type="notice", data={
        "kind": letter.kind, "to": list(letter.to), "message_id": outgoing.message_id, **letter.event_data,
        **({"left_out_of_references": left_out} if left_out else {}),
    }) if letter.logged and index == 0 else None
    return Written(row, message, event)


def _reply_token(app: App, number: int | None, engineer: str | None) -> tuple[str, str]:
    """The footer reference and the Reply-To of one copy: engineer token, customer token, or none."""
    secret, support = app.policy.token_secret, app.sender_address
    if number is None:
        return "", support
    if engineer is None:
        return reference(secret, number), reply_address(support, secret, number)
    return engineer_reference(secret, number, engineer), engineer_reply_address(support, secret, number, engineer)
