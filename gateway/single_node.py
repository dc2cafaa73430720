"""SQLite is the single-node store (issue 15): a second daemon on the same file is refused.

SQLite has one writer and no way for two machines' daemons to share leases or claims
safely (and over a network file system its locks are not to be trusted). A daemon on
SQLite therefore holds an exclusive flock on `<database file>.node-lock` for as long as
it runs; a second one, on this host or through the same shared folder, fails at start
with an error that says which file is taken. The lock is the kernel's, so a SIGKILLed
daemon never leaves a stale one behind. `[database] shared = true` asks for PostgreSQL.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.settings import Settings, SettingsError


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and for in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_node_settings(settings: Settings) -> None:
    """Settings that cannot work for several nodes: shared = true on SQLite."""
    if settings.database.shared and sqlite_file(settings.database_url) is not None:
        raise SettingsError("database.shared: several nodes need PostgreSQL; SQLite is for a single node "
                            "(set [database] url to a postgresql+psycopg:// URL, or drop shared)")


class NodeLock:
    """The flock that makes a SQLite database one daemon's; a no-op on PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        database = sqlite_file(settings.database_url)
        self.path = None if database is None else database.with_name(database.name + ".node-lock")
        self._descriptor: int | None = None
        self.node = settings.gateway.node

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip() or "another daemon"
            os.close(descriptor)
            raise SettingsError(f"database: {self.path.with_suffix('')} is in use by {holder}; SQLite serves "
                                "a single node — run several nodes on PostgreSQL ([database] url, shared = true)"
                                ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"node {self.node} (pid {os.getpid()})\n".encode(), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.close(descriptor)  # closing drops the flock
