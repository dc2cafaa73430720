"""The rows one scheduler tick writes, inserted as a few Core statements (issue 14: the speed target).

A tick with 1,000 due incidents writes thousands of outbox rows, messages and
events; handing them to the ORM unit of work as objects cost more CPU than
rendering the letters (the same finding as store.bulk for intake). Here they are
collected as plain rows (store.rows) and inserted by store.row_insert — ids
taken first, then one COPY (PostgreSQL) or executemany (SQLite) per table:
outbox rows first, then the messages that point at them, then the events. Each incident's next due time
is one executemany UPDATE too; the rarer changes (status, severity) stay ORM
attribute changes, flushed first.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from store.incidents import Incident, IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage
from store.row_insert import insert_rows
from store.rows import NewEvent, NewMessage, NewOutbox


@dataclass
class ScheduledRows:
    outbox: list[NewOutbox] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)
    next_due: dict[int, datetime | None] = field(default_factory=dict)  # incident id → its next due time

    def set_next_due(self, incident: Incident, at: datetime | None) -> None:
        """Record the incident's next due time, written with the rows as one executemany UPDATE.

        The loaded object gets the value as already stored (no ORM change to
        flush): the unit of work spent more on 1,000 such updates than the
        UPDATE itself (issue 14).
        """
        set_committed_value(incident, "next_due_at", at)
        self.next_due[incident.id] = at

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
        if self.next_due:
            table = Incident.__table__
            connection.execute(
                update(table).where(table.c.id == bindparam("incident")).values(next_due_at=bindparam("due")),
                [{"incident": incident_id, "due": at} for incident_id, at in sorted(self.next_due.items())])
        self.outbox, self.messages, self.events, self.next_due = [], [], [], {}


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while one tick builds its rows (issue 14 speed).

    A tick of 1,000 due incidents keeps ~100,000 objects alive until its
    commit (rows, letters, events); each of them counts toward Python's next
    full collection, which then walks the whole heap to free nothing — a fifth
    of the tick's CPU in bench/sla.py. Reference counting still frees what the
    tick drops; the collector resumes when the tick ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
