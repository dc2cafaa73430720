"""Insert many plain rows (store.rows) into one table, ids set, in as few round trips as each database allows.

Issue 14 (speed): a scheduler tick with 1,000 due incidents writes ~4,000
outbox rows, as many messages and ~7,000 events. SQLAlchemy's
"insertmanyvalues" (store.bulk) costs too much here:

- on SQLite, `RETURNING id` with the ids in row order has no sentinel SQLAlchemy
  trusts, so it runs one INSERT per row (4,000 statements, ~0.3 s);
- on PostgreSQL each page is one statement with ~17,000 parameters that
  psycopg parses anew (not cached: too long), ~0.5 s of CPU for the outbox alone.

So the ids are taken first — one `nextval` per row in a single statement on
PostgreSQL (the sequence hands out distinct ids whatever other sessions do), and
on SQLite the next rowids after `max(id)` (the caller's write transaction holds
SQLite's single writer lock, which is exactly how SQLite picks rowids for a
table without AUTOINCREMENT; a stale snapshot fails with SQLITE_BUSY, never
a duplicate, and the primary key would refuse one) — and the rows are then
written with explicit ids: `COPY … FROM STDIN` on PostgreSQL (one stream per
table), the driver's own executemany on SQLite. Values go through each column's own bind
processor (store.base.UTCDateTime, JSON), so what is stored is byte for byte
what an ORM or Core INSERT would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select


def insert_rows(connection: Connection, table: Table, rows: Sequence[Any], *, ids: bool = True) -> None:
    """Insert `rows` (objects whose attributes are `table`'s columns) in the caller's transaction.

    With `ids`, each row gets the id it was stored under (for children that point at it).
    """
    if not rows:
        return
    if ids:
        for row, new_id in zip(rows, _new_ids(connection, table, len(rows)), strict=True):
            row.id = new_id
    columns = [c for c in table.columns if ids or c.key != "id"]
    read = attrgetter(*(c.key for c in columns))
    dialect = connection.dialect
    if dialect.name == "postgresql":
        _copy(connection, table, columns, _processed(dialect, columns, [read(row) for row in rows]))
    elif dialect.paramstyle == "qmark":  # SQLite: the driver's own executemany, values already processed
        names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
        connection.exec_driver_sql(
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            _processed(dialect, columns, [read(row) for row in rows]))
    else:
        names_ = [c.key for c in columns]
        connection.execute(insert(table), [dict(zip(names_, read(row), strict=True)) for row in rows])


def _new_ids(connection: Connection, table: Table, count: int) -> list[int]:
    if connection.dialect.name == "postgresql":
        statement = select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
            func.generate_series(1, count))
        return list(connection.execute(statement).scalars())
    last = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def _processed(dialect: Any, columns: list[Any], values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each value through its column type's bind processor, as SQLAlchemy's own INSERT would send it."""
    processors: list[Callable[[Any], Any] | None] = [c.type._cached_bind_processor(dialect) for c in columns]
    pairs = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not pairs:
        return values
    out = []
    for row in values:
        items = list(row)
        for index, process in pairs:
            items[index] = process(items[index])
        out.append(tuple(items))
    return out


def _copy(connection: Connection, table: Table, columns: list[Any], values: list[tuple[Any, ...]]) -> None:
    """COPY the (processed) rows in: PostgreSQL's bulk load, one stream for the whole table."""
    dialect = connection.dialect
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    finally:
        cursor.close()
