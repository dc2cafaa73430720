"""The rows one scheduler tick writes, inserted as a few Core statements (issue 14: the speed target).

A tick with 1,000 due incidents writes thousands of outbox rows, messages and
events; handing them to the ORM unit of work as objects cost more CPU than
rendering the letters (the same finding as store.bulk for intake). Here they are
collected as plain rows (store.rows) and inserted with one executemany per
table — outbox rows first (their ids are returned in order), then the messages
that point at them, then the events. Incident updates (status, severity,
next_due_at) stay ORM attribute changes: one per incident, flushed with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.orm import Session

from store.incidents import IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage
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
        if self.outbox:
            table = OutboxMessage.__table__
            columns = [c.key for c in table.columns if c.key != "id"]
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids = connection.execute(statement, [{c: getattr(r, c) for c in columns} for r in self.outbox])
            for row, new_id in zip(self.outbox, ids.scalars(), strict=True):
                row.id = new_id
        for message in self.messages:
            if message.outbox is not None:
                message.outbox_id = message.outbox.id
        for table, rows in ((IncidentMessage.__table__, self.messages), (IncidentEvent.__table__, self.events)):
            if rows:
                columns = [c.key for c in table.columns if c.key != "id"]
                connection.execute(insert(table), [{c: getattr(r, c) for c in columns} for r in rows])
        self.outbox, self.messages, self.events = [], [], []
