"""Group commit for the SMTP intake: DATA commands that wait at the same time share one COMMIT.

A durable commit costs an fsync (and, beside a busy work process, a wait for
SQLite's write lock). Mails that arrive while one commit is under way are
committed together by the next one, so the cost is paid once per group, not
once per mail. Each sender still gets its 250 only after its own mail is
committed; if the group's transaction fails, every mail in it gets the error
(and so a 451 and a retry from its MTA).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gateway.clock import Clock
from gateway.database import Database
from gateway.intake.ingest import Accepted, Arrival, accept_many

MAX_GROUP = 64


@dataclass
class GroupCommit:
    database: Database
    clock: Clock
    _waiting: list[tuple[Arrival, asyncio.Future[Accepted]]] = field(default_factory=list)
    _committing: bool = False

    async def accept(self, arrival: Arrival) -> Accepted:
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival, future))
        if not self._committing:
            self._committing = True
            asyncio.get_running_loop().create_task(self._commit_while_waiting())
        return await future

    async def _commit_while_waiting(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                await self._commit(group)
        finally:
            self._committing = False

    async def _commit(self, group: list[tuple[Arrival, asyncio.Future[Accepted]]]) -> None:
        try:
            results = await self.database.run(accept_many, self.database.intake_sessions,
                                              [arrival for arrival, _ in group], self.clock.now())
        except Exception as error:  # noqa: BLE001 - every waiting DATA answers 451
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)
