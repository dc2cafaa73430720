"""The rows one scheduler tick writes, inserted as a few Core statements (issue 14: the speed target).

A tick with 1,000 due incidents writes thousands of outbox rows, messages and
events; handing them to the ORM unit of work as objects cost more CPU than
rendering the letters (the same finding as store.bulk for intake). Here they are
collected as plain rows (store.rows) and inserted by store.row_insert — ids
taken first, then one COPY (PostgreSQL) or executemany (SQLite) per table:
outbox rows first, then the messages that point at them, then the events. Incident updates (status, severity,
next_due_at) stay ORM attribute changes: one per incident, flushed with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from store.incidents import IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage
from store.row_insert import insert_rows
from store.rows import NewEvent, NewMessage, NewOutbox


@dataclass
class ScheduledRows:
    outbox: list[NewOutbox] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)

    def write(self, session: Session) -> None:
        """Insert everything collected, in the caller's transaction (ORM changes flushed first)."""
        session.flush()
        connection = session.connection()
        insert_rows(connection, OutboxMessage.__table__, self.outbox)  # ids first: the messages point at them
        for message in self.messages:
            if message.outbox is not None:
                message.outbox_id = message.outbox.id
        insert_rows(connection, IncidentMessage.__table__, self.messages)
        insert_rows(connection, IncidentEvent.__table__, self.events, ids=False)
        self.outbox, self.messages, self.events = [], [], []
