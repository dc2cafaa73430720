"""The schema comes only from Alembic migrations, and they go both ways on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from store.db import make_engine
from store.migrate import current_revision, downgrade, head_revision, upgrade
from store.models import Base


def test_upgrade_to_head_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
        assert "incidents" in inspect(engine).get_table_names()
        downgrade(engine)
        assert current_revision(engine) is None
        assert "incidents" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_models_and_migrations_agree_so_autogenerate_finds_no_difference(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_moving_raw_mail_to_its_own_table_keeps_every_mail_and_every_reference_both_ways(db_url: str) -> None:
    """0005: raw bytes move to inbound_raw (and back on downgrade); SQLite's attachment data goes last."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO inbound_messages (id, sha256, raw, size, source, mail_from, rcpt_tos, received_at, state) "
                "VALUES (7, 'abc', :raw, 3, 'smtp', 'a@example.test', '[]', '2026-11-24 01:00:00.000000', 'received')"),
                {"raw": b"raw"})
            connection.execute(text(
                "INSERT INTO imap_ledger (account, mailbox, uidvalidity, uid, sha256, size, outcome, inbound_id, "
                "attempts, committed_at) VALUES ('acct', 'INBOX', 1, 1, 'abc', 3, 'imported', 7, 1, "
                "'2026-11-24 01:00:00.000000')"))
            connection.execute(text("INSERT INTO attachment_blobs (sha256, size, data, created_at) "
                                    "VALUES ('def', 4, :data, '2026-11-24 01:00:00.000000')"), {"data": b"data"})
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT inbound_id, raw FROM inbound_raw")).one() == (7, b"raw")
            assert connection.execute(text("SELECT id, state FROM inbound_messages")).one() == (7, "received")
            assert connection.execute(text("SELECT inbound_id FROM imap_ledger")).scalar_one() == 7
            assert connection.execute(text("SELECT data FROM attachment_blobs")).scalar_one() == b"data"
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
                columns = [row[1] for row in connection.execute(text("PRAGMA table_info(attachment_blobs)"))]
                assert columns[-1] == "data"
        downgrade(engine, "0004")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT id, raw FROM inbound_messages")).one() == (7, b"raw")
            assert "inbound_raw" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
