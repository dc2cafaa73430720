"""store.row_insert (issue 14 speed): rows bulk-written by a tick read back exactly as an ordinary INSERT stores them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, text

from store.outbox import OutboxMessage
from store.row_insert import insert_rows
from store.rows import NewOutbox

NOW = datetime(2026, 11, 24, 6, 0, 1, 5, tzinfo=UTC)


def _row() -> NewOutbox:
    return NewOutbox(kind="status", dedupe_key=None, message_id="gw.1@support.example.test",
                     mail_from="support@support.example.test", rcpt_tos=["x@example.test", "é@example.test"],
                     raw=b"\x00\xff raw \\ \n\t bytes", state="queued", attempts=0, next_attempt_at=NOW,
                     created_at=NOW, needs_smtputf8=True, last_error="tab\there\nnew line \\N")


def test_bulk_written_outbox_rows_read_back_the_same_as_an_ordinary_insert_and_get_their_ids(
        engine: Engine) -> None:
    table = OutboxMessage.__table__
    columns = [c.key for c in table.columns if c.key != "id"]
    with engine.begin() as connection:
        plain = _row()
        connection.execute(insert(table), [{c: getattr(plain, c) for c in columns}])
        bulk = [_row(), _row()]
        insert_rows(connection, table, bulk)
        stored = connection.execute(select(table).order_by(table.c.id)).all()
        as_text = connection.execute(text("SELECT rcpt_tos FROM outbox ORDER BY id")).scalars().all()
    assert [row.id for row in bulk] == [stored[1].id, stored[2].id]
    assert len({row.id for row in stored}) == 3
    first, *others = [tuple(row)[1:] for row in stored]
    assert all(other == first for other in others)
    assert first[columns.index("created_at")] == NOW
    assert len(set(map(str, as_text))) == 1  # the JSON text itself, not only its value
