"""Shared fixtures: databases (SQLite always, PostgreSQL for store and end-to-end tests), settings, relay sink."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App, build_app
from gateway.clock import FixedClock
from gateway.settings import Settings, settings_from_dict
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from tests.support.relay_sink import RelaySink

PG_URL = os.environ.get("SUPPORT_GATEWAY_TEST_PG")
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # Tuesday 10:00 JST


def _pg_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL (run through `make test`, which provides one)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, sqlite_synchronous="NORMAL")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def settings_dict(tmp_path: Path, db_url: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "gateway": {
            "name": "Example Support Desk",
            "support_addresses": ["support@support.example.test"],
            "data_dir": str(tmp_path / "var"),
            "loop_marker": "test-gateway",
            "phone": "+81-3-0000-0000",
        },
        "database": {"url": db_url, "sqlite_synchronous": "NORMAL"},
        "smtp": {"host": "127.0.0.1", "port": 0, "max_message_size": 200_000},
        "outbound": {"first_retry_seconds": 0.2, "max_retry_seconds": 1},
        "customers": [
            {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "ja",
             "domains": ["example.test"], "contacts": ["alice@example.test", "bob@example.test"]},
            {"key": "acme", "name": "Acme Ltd", "plan": "msa-enterprise", "locale": "en",
             "charset": "utf-8", "domains": ["acme.test"], "contacts": ["carol@acme.test"]},
            {"key": "jis", "name": "JIS Corp", "plan": "enhanced-plus", "locale": "ja",
             "charset": "iso-2022-jp", "domains": ["jis.test"], "contacts": ["dan@jis.test"]},
        ],
    }
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    return data


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    def factory(**overrides: Any) -> Settings:
        return settings_from_dict(settings_dict(tmp_path, db_url, **overrides))

    return factory


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> App:
    return build_app(settings)


@pytest.fixture
def relay_sink() -> Iterator[RelaySink]:
    sink = RelaySink().start()
    yield sink
    sink.stop()
