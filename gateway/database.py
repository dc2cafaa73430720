"""Runs units of work (one session, one transaction) in worker threads for the event loop.

SQLite allows one writer at a time, so there it gets a single worker thread:
writes queue in order instead of fighting over the lock ("database is locked").
PostgreSQL gets a few workers. Synchronous SQLAlchemy in threads is the simplest
fit here, since smtplib and imapclient block anyway (architecture.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_sessionmaker

T = TypeVar("T")


class Database:
    """The engine(s) of one process and the worker thread(s) that use them.

    `intake_sessions` may come from a second engine tuned for the SMTP intake
    (no SQLite busy sleeps; accept_raw retries locks itself).
    """

    def __init__(self, engine: Engine, *, intake_engine: Engine | None = None) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self._intake_engine = intake_engine
        self.intake_sessions: sessionmaker[Session] = make_sessionmaker(intake_engine or engine)
        workers = 1 if engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(self, work: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run `work(*args, **kwargs)` on a database worker thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
        if self._intake_engine is not None:
            self._intake_engine.dispose()
