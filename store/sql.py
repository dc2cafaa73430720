"""Small portable statements SQLAlchemy does not spell the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.incidents import Counter


def insert_ignoring_duplicates(session: Session, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: content-addressed rows written by concurrent sessions."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def next_value(session: Session, name: str) -> int:
    """Take the next number of a gap-free counter; the row stays locked until commit."""
    statement = (
        update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    )
    value = session.execute(statement).scalar_one_or_none()
    if value is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    return value
