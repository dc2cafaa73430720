"""Small portable statements SQLAlchemy does not spell the same on SQLite and PostgreSQL.

They run on the session's connection, not through the ORM, so they never
trigger an autoflush in the middle of a batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.blobs import LARGE, is_large, pg_copy_row, pg_read, read_blob, sqlite_driver, write_blob
from store.inbound import InboundRaw
from store.incidents import Counter


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def insert_ignoring_duplicates(session: Session, table: Table, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: content-addressed rows written by concurrent sessions."""
    if not rows:
        return
    session.connection().execute(_dialect(session).insert(table).on_conflict_do_nothing(), rows)


def insert_blobs_ignoring_duplicates(session: Session, table: Table, column: str,
                                     rows: list[dict[str, Any]]) -> None:
    """insert_ignoring_duplicates for content-addressed rows with one big column (attachments).

    On SQLite a value from store.blobs.LARGE up is inserted as zeroblob(n) and
    streamed in, so SQLite never holds copies of the whole attachment.
    """
    driver = sqlite_driver(session.connection())
    plain = [row for row in rows if not is_large(row[column])]
    insert_ignoring_duplicates(session, table, plain)
    for row in rows:
        if not is_large(row[column]):
            continue
        if driver is None:  # PostgreSQL: COPY in pieces, unless the same content is stored already
            _copy_blob_pg(session, table, column, row)
            continue
        data = row[column]
        statement = (sqlite.insert(table).values({**row, column: func.zeroblob(len(data))})
                     .on_conflict_do_nothing().returning(literal_column("rowid")))
        rowid = session.connection().execute(statement).scalar_one_or_none()
        if rowid is not None:  # None: the same content is stored already
            write_blob(driver, table.name, column, rowid, data)


def _copy_blob_pg(session: Session, table: Table, column: str, row: dict[str, Any]) -> None:
    key = next(iter(table.primary_key.columns))
    if session.connection().execute(select(key).where(key == row[key.name])).first() is not None:
        return
    names = [c.name for c in table.columns]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        pg_copy_row(cursor, table.name, names, [row[name] for name in names])
    finally:
        cursor.close()


def insert_returning_id_unless_duplicate(session: Session, table: Table, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new id, or None if the row existed."""
    statement = _dialect(session).insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return session.connection().execute(statement).scalar_one_or_none()


def reserve_values(session: Session, name: str, count: int) -> int:
    """Advance a counter by `count` and return its new value (the last number reserved).

    One upsert, so two nodes reserving the first number at once never collide on the
    counter's key (issue 15): the row lock serialises them and the numbers stay gap-free.
    """
    table = Counter.__table__
    statement = (_dialect(session).insert(table).values(name=name, value=count)
                 .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + count})
                 .returning(table.c.value))
    return int(session.connection().execute(statement).scalar_one())


def fetch_raw(session: Session, ids: list[int]) -> dict[int, bytes | bytearray]:
    """`inbound id → raw bytes` (store.inbound.InboundRaw), without doubling big mails in memory.

    PostgreSQL sends bytea as hex text unless asked for binary results: a 27 MB
    mail would arrive as 54 MB of hex and then be decoded. psycopg's binary
    cursor gets the bytes as they are. On SQLite, mails from store.blobs.LARGE
    up are read with incremental blob I/O.
    """
    if not ids:
        return {}
    table = InboundRaw.__table__
    driver = sqlite_driver(session.connection())
    if driver is not None:  # big mails straight from the pages (store.blobs), the rest in one SELECT
        sizes = dict(session.execute(
            select(table.c.inbound_id, func.length(table.c.raw)).where(table.c.inbound_id.in_(ids))).all())
        small = [row_id for row_id, size in sizes.items() if size is None or size < LARGE]
        found: dict[int, bytes | bytearray] = dict(session.execute(
            select(table.c.inbound_id, table.c.raw).where(table.c.inbound_id.in_(small))).all()) if small else {}
        for row_id in sizes.keys() - found.keys():
            found[row_id] = read_blob(driver, table.name, "raw", row_id)
        return found
    psycopg = session.connection().connection.driver_connection
    with psycopg.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(f"SELECT inbound_id, length(raw) FROM {table.name} WHERE inbound_id = ANY(%s)", [ids])
        sizes = dict(cursor.fetchall())
        small = [row_id for row_id, size in sizes.items() if size < LARGE]
        cursor.execute(f"SELECT inbound_id, raw FROM {table.name} WHERE inbound_id = ANY(%s)", [small])
        found_pg: dict[int, bytes | bytearray] = {row_id: bytes(raw) for row_id, raw in cursor}
        for row_id in sizes.keys() - found_pg.keys():  # big ones in slices: never twice in memory
            found_pg[row_id] = pg_read(cursor, table.name, "raw", "inbound_id", row_id, sizes[row_id])
        return found_pg
