"""Engines and sessions: no module-level engine, the shell builds one from settings and passes it in."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Accept `postgresql://` as meaning psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _create_private(path: Path) -> None:
    """Create a new SQLite file as 0600 whatever the umask: it holds customer mail (issue 12).

    SQLite makes its -wal and -shm files with the database file's permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", immediate: bool = False,
                busy_timeout: float = 30.0, checkpoints: bool = True, durable_commits: bool = True) -> Engine:
    """Create the engine for `url`, preparing SQLite for one writer and many readers.

    SQLite runs in WAL mode (readers never block the writer, ~3x the commit rate)
    with `synchronous=FULL` by default: a 250 at SMTP promises the mail survives a
    power cut, which NORMAL does not. `busy_timeout` lets the CLI read or write
    while the daemon runs.

    `immediate=True` starts every SQLite transaction with BEGIN IMMEDIATE: for
    writers that read before they write (claim, then update). A deferred
    transaction that reads first gets SQLITE_BUSY at once, without waiting, when
    another process commits in between; IMMEDIATE takes the write lock up front
    and waits for it politely.

    `busy_timeout=0` makes a locked SQLite database fail at once instead of
    sleeping in SQLite's coarse steps (1, 2, 5, 10, … 100 ms); the SMTP intake
    retries such failures itself, every half millisecond (`retry_when_locked`).

    `checkpoints=False` leaves WAL checkpoints to other connections: a commit
    that crosses the WAL threshold copies pages into the database file and
    syncs it, tens of milliseconds the SMTP intake should not spend.

    `durable_commits=False` is for writes whose loss on a power cut can only repeat work, never
    lose it — the sender's "this letter went" (gateway.daemon.worker): SQLite `synchronous=NORMAL`
    in WAL mode, PostgreSQL `synchronous_commit = off`. Both still survive the process being
    killed; a power cut or server crash may undo the last fraction of a second of them, so a
    letter is sent twice, as an MTA may resend after a crash. Mail itself is never written so.
    """
    url = normalise_url(url)
    if not is_sqlite(url):
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        if not durable_commits:
            @event.listens_for(engine, "connect")
            def _asynchronous_commit(dbapi_connection: Any, _record: Any) -> None:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO OFF")
                dbapi_connection.commit()
        return engine
    if not durable_commits:
        sqlite_synchronous = "NORMAL"
    database = make_url(url).database
    if database and database != ":memory:":
        _create_private(Path(database))
    engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling starts transactions late (before the
        # first write, not the first read) and breaks SAVEPOINT; take it over, as
        # SQLAlchemy's SQLite documentation recommends, and emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine a session factory is bound to (hot paths use it for plain Core transactions)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the session factory is not bound to an engine")
    return bind


def is_locked_error(error: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy" (another process holds the write lock).

    Raised wrapped by SQLAlchemy, or bare by sqlite3 when a hot path uses the
    driver's cursor (store.inbound_insert).
    """
    original = error.orig if isinstance(error, OperationalError) else error
    return isinstance(original, sqlite3.OperationalError) and any(
        text in str(original).lower() for text in ("database is locked", "database is busy"))


def is_store_unavailable(error: BaseException) -> bool:
    """The store itself is away or cut the connection — no fault of the data being written.

    What a PostgreSQL crash, restart or failover looks like to a client (issue 15): the
    connection refused, or ended by the server mid-query (`server closed the connection
    unexpectedly`, `terminating connection due to administrator command`), or the server still
    starting up. SQLAlchemy marks a lost connection `connection_invalidated`; the driver raises
    OperationalError (PEP 249: "errors related to the database's operation and not necessarily
    under the control of the programmer, e.g. an unexpected disconnect") or InterfaceError. Work
    that fails so must be tried again later, never recorded against the mail (a quarantine),
    just as the SMTP intake answers 451 for it. SQLite's "database is locked" is one too.
    """
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    original = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(error, (OperationalError, InterfaceError)) or type(original).__name__ in (
        "OperationalError", "InterfaceError")


def retry_when_locked(work: Callable[[], T], *, deadline_seconds: float = 20.0, first_pause: float = 0.0002,
                      max_pause: float = 0.001) -> T:
    """Run `work`, retrying while SQLite says it is locked, up to a deadline.

    Pauses start at 0.2 ms and double up to 1 ms: finer than SQLite's own busy
    handler (which sleeps up to 100 ms at a time). The work process often takes
    the lock in several short transactions one after the other; polling every
    4 ms let the intake miss the gaps between them (p99 DATA→250 of ~25 ms at
    200 msg/s), while a failed attempt costs only ~20 µs of CPU.
    """
    deadline = time.monotonic() + deadline_seconds
    pause = first_pause
    while True:
        try:
            return work()
        except (OperationalError, sqlite3.OperationalError) as error:
            if not is_locked_error(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, max_pause)
