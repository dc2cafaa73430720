"""Alembic environment: runs on the engine the caller put in `config.attributes`."""

from __future__ import annotations

from alembic import context

from store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only via our own store.migrate helpers
    raise RuntimeError("run migrations through `support-gateway db upgrade`")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
