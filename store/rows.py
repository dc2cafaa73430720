"""Plain rows for what the processor and the scheduler create: incidents, events, messages, outbox.

Building them as ORM objects cost ~0.2 ms of CPU per mail (attribute
instrumentation on every assignment and read), a tenth of the work process's
time, for rows that are written once and never changed in the transaction. New
incidents with everything under them are inserted from these by
store.bulk.insert_new_incidents; rows added to an incident already in the
session are turned into ORM objects by `Attach` (updates and scheduled notices).

Field names are the column names of the tables they stand for (store.bulk reads
them by column).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.incidents import Incident, IncidentEvent, IncidentMessage, MessageAttachment, incident_ref
from store.outbox import OutboxMessage


@dataclass(eq=False)
class NewEvent:
    at: datetime
    type: str
    data: dict[str, Any]
    incident_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class NewOutbox:
    kind: str
    dedupe_key: str | None
    message_id: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    needs_smtputf8: bool = False  # RFC 6531: a non-ASCII address; raw UTF-8 headers (gateway.outbound.mime)
    incident_id: int | None = None
    relay_message_id: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_by: str | None = None  # set by the sender when it claims the row (gateway.outbound.claims)
    id: int | None = None
    incident: NewIncident | None = None  # a new incident: its id is known only once it is inserted


@dataclass(eq=False)
class NewAttachment:
    sha256: str
    filename: str | None
    content_type: str
    size: int
    inline: bool
    incident_message_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class NewMessage:
    direction: str
    message_id: str | None
    author: str
    subject: str
    body_text: str
    created_at: datetime
    inbound_id: int | None = None
    outbox: NewOutbox | None = None
    outbox_id: int | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    incident_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class NewIncident:
    number: int
    customer_id: int
    plan: str
    subject: str
    severity: int
    requested_severity: int | None
    cues: list[dict[str, Any]]
    status: str
    side: str
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    linked_to_id: int | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    next_due_at: datetime | None = None
    assignee: str | None = None
    resolution: str | None = None
    events: list[NewEvent] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    id: int | None = None

    @property
    def ref(self) -> str:
        return incident_ref(self.number)


class Attach:
    """Turn plain rows into ORM objects for an incident already in the session.

    One Attach per batch of rows: a message and the outbox row it records stay
    one object each (the message's `outbox` is the very row added).
    """

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self._outbox: dict[int, OutboxMessage] = {}

    def event(self, row: NewEvent) -> IncidentEvent:
        return IncidentEvent(at=row.at, type=row.type, data=row.data)

    def outbox(self, row: NewOutbox) -> OutboxMessage:
        known = self._outbox.get(id(row))
        if known is None:
            known = OutboxMessage(
                kind=row.kind, dedupe_key=row.dedupe_key, message_id=row.message_id, mail_from=row.mail_from,
                rcpt_tos=row.rcpt_tos, raw=row.raw, state=row.state, attempts=row.attempts,
                next_attempt_at=row.next_attempt_at, created_at=row.created_at, needs_smtputf8=row.needs_smtputf8)
            known.incident = self.incident
            self._outbox[id(row)] = known
        return known

    def message(self, row: NewMessage) -> IncidentMessage:
        message = IncidentMessage(
            direction=row.direction, inbound_id=row.inbound_id, message_id=row.message_id, author=row.author,
            subject=row.subject, body_text=row.body_text, created_at=row.created_at,
            outbox=self.outbox(row.outbox) if row.outbox is not None else None)
        message.attachments.extend(
            MessageAttachment(sha256=a.sha256, filename=a.filename, content_type=a.content_type, size=a.size,
                              inline=a.inline) for a in row.attachments)
        return message
