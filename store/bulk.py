"""Insert new incidents, with everything hanging off them, as a few Core INSERTs per batch.

The processor builds each new incident as plain rows (store.rows: events,
messages with their attachments and outbox rows). Handing ORM objects to the
unit of work cost ~0.5 ms of CPU per mail at flush, more than parsing the mail;
most of it bookkeeping for objects that are written once and never touched
again in the transaction. Here each table gets
one executemany INSERT … RETURNING id for the whole batch (SQLAlchemy's
"insertmanyvalues", ids returned in the order of the rows), parents before
children, and the generated ids are set on the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

from store.incidents import Incident, IncidentEvent, IncidentMessage, MessageAttachment
from store.outbox import OutboxMessage
from store.rows import NewIncident, NewOutbox


def insert_new_incidents(connection: Connection, incidents: Sequence[NewIncident],
                         loose_outbox: Sequence[NewOutbox] = ()) -> None:
    """Insert `incidents` and their rows, and outbox rows tied to no new incident, in the caller's transaction."""
    _insert(connection, Incident.__table__, incidents)
    messages = [m for incident in incidents for m in incident.messages]
    outbox = [m.outbox for m in messages if m.outbox is not None] + list(loose_outbox)
    for row in outbox:
        if row.incident is not None:
            row.incident_id = row.incident.id
    _insert(connection, OutboxMessage.__table__, outbox)
    for incident in incidents:
        for message in incident.messages:
            message.incident_id = incident.id
            if message.outbox is not None:
                message.outbox_id = message.outbox.id
        for event in incident.events:
            event.incident_id = incident.id
    _insert(connection, IncidentMessage.__table__, messages)
    attachments = []
    for message in messages:
        for attachment in message.attachments:
            attachment.incident_message_id = message.id
            attachments.append(attachment)
    _insert(connection, MessageAttachment.__table__, attachments, returning=False)
    _insert(connection, IncidentEvent.__table__, [e for incident in incidents for e in incident.events],
            returning=False)


def _insert(connection: Connection, table: Any, rows: Sequence[Any], *, returning: bool = True) -> None:
    """One executemany INSERT of `rows` (objects whose attributes are `table`'s columns); set their ids."""
    if not rows:
        return
    columns = [c.key for c in table.columns if c.key != "id"]
    values = [{name: getattr(row, name) for name in columns} for row in rows]
    if not returning:
        connection.execute(insert(table), values)
        return
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for row, new_id in zip(rows, connection.execute(statement, values).scalars(), strict=True):
        row.id = new_id
