"""Alembic environment: runs on the engine the caller put in `config.attributes`."""

from __future__ import annotations

from alembic import context

from store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only via our own store.migrate helpers
    raise RuntimeError("run migrations through `support-gateway db upgrade`")

with engine.connect() as connection:
    # SQLite rebuilds tables that others refer to (0005): foreign-key enforcement
    # must be off, and can only be switched outside a transaction, so on the
    # driver's connection before SQLAlchemy begins one; it is checked and
    # switched back on below.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,  # SQLite can only ALTER through table copies
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
