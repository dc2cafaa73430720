"""Alembic, driven from code: `support-gateway db upgrade` and the migration tests call these."""

from __future__ import annotations

import logging

# Alembic (1.18+) registers its seven built-in autogenerate plugins when it is first imported
# and logs each one at INFO ("setup plugin alembic.autogenerate.tables", ...): seven lines at
# the start of any program that set up logging before it imported this module. We add no
# plugins, so the lines never say anything; silence that one logger before the import.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

from alembic import command  # noqa: E402 - after the logger above is quietened
from alembic.config import Config  # noqa: E402
from sqlalchemy import Engine  # noqa: E402


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", "store:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
