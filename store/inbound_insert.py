"""The intake's INSERTs into inbound_messages and inbound_raw, written on the database driver's own cursor.

Every mail the gateway accepts goes through here before the sending MTA gets
its 250, so this is the hottest statement of the intake. Through the ORM a
group of one mail cost ~0.6 ms of CPU; through SQLAlchemy Core ~0.35 ms; on the
driver's cursor, inside the caller's SQLAlchemy transaction, ~0.29 ms, of
which the fsync of the COMMIT is most (bench/intake.py, issue 2 notes). The
price is that the values are adapted here by hand, exactly as the column types
in store.inbound would adapt them: UTC datetimes stored naive (SQLite in
SQLAlchemy's text format), the envelope recipients as JSON text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection

from store.blobs import is_large, pg_copy_row, sqlite_driver, write_blob

_COLUMNS = ("sha256", "size", "source", "source_ref", "mail_from", "rcpt_tos", "received_at", "state",
            "reason", "detail", "processed_at")
_INSERT = (f"INSERT INTO inbound_messages ({', '.join(_COLUMNS)}) VALUES ({{marks}}) "
           "ON CONFLICT (sha256) DO NOTHING RETURNING id")
_INSERT_RAW = "INSERT INTO inbound_raw (inbound_id, raw) VALUES ({mark}, {value})"
_EXISTING = "SELECT id FROM inbound_messages WHERE sha256 = {mark}"


@dataclass(frozen=True)
class NewInbound:
    """One row to insert: the raw mail, its envelope and its first state (normally `received`)."""

    sha256: str
    raw: bytes
    source: str
    source_ref: str | None
    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: datetime
    state: str
    reason: str | None = None
    detail: str | None = None


def insert_inbound(connection: Connection, rows: list[NewInbound]) -> list[tuple[int, bool]]:
    """Insert each row unless its sha256 is stored already; return `(id, duplicate)` per row, in order.

    Runs in the caller's transaction (`connection` is a SQLAlchemy Connection,
    e.g. `session.connection()`); the caller commits.
    """
    driver = sqlite_driver(connection)
    mark = "?" if driver is not None else "%s"
    insert = _INSERT.format(marks=", ".join([mark] * len(_COLUMNS)))
    existing = _EXISTING.format(mark=mark)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        results = []
        for row in rows:
            cursor.execute(insert, _values(row, driver is not None))
            found = cursor.fetchone()
            if found is not None:
                inbound_id = int(found[0])
                if driver is not None and is_large(row.raw):  # store.blobs: no whole-size copies
                    cursor.execute(_INSERT_RAW.format(mark=mark, value="zeroblob(?)"), (inbound_id, len(row.raw)))
                    write_blob(driver, "inbound_raw", "raw", inbound_id, row.raw)
                elif is_large(row.raw):
                    pg_copy_row(cursor, "inbound_raw", ("inbound_id", "raw"), (inbound_id, row.raw))
                else:
                    cursor.execute(_INSERT_RAW.format(mark=mark, value=mark), (inbound_id, row.raw))
                results.append((inbound_id, False))
                continue
            cursor.execute(existing, (row.sha256,))
            found = cursor.fetchone()
            if found is None:  # pragma: no cover - rows are never deleted, so the conflicting one is there
                raise RuntimeError(f"inbound {row.sha256} conflicted but cannot be found")
            results.append((int(found[0]), True))
        return results
    finally:
        cursor.close()


def _values(row: NewInbound, sqlite: bool) -> tuple[Any, ...]:
    received = _stored_time(row.received_at, sqlite)
    processed = received if row.state != "received" else None
    return (row.sha256, len(row.raw), row.source, row.source_ref, row.mail_from,
            json.dumps(list(row.rcpt_tos)), received, row.state, row.reason, row.detail, processed)


def _stored_time(at: datetime, sqlite: bool) -> Any:
    """What store.base.UTCDateTime binds: naive UTC (on SQLite as SQLAlchemy's DATETIME text)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware one")
    naive = at.astimezone(timezone.utc).replace(tzinfo=None)
    return naive.isoformat(sep=" ", timespec="microseconds") if sqlite else naive
