"""The work as tasks on the daemon's own loop (`[gateway] work_process = false`).

One process, one loop: what deterministic tests and small installations want.
The processor, the SLA scheduler and the sender each loop until they find
nothing, then sleep until woken or due; a failing store is logged and retried,
never fatal. At stop, what was received is processed and what is due is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gateway.app import App
from gateway.clock import Clock
from gateway.daemon.heartbeat import Heartbeat
from gateway.daemon.parts import DRAIN_SECONDS
from gateway.database import Database
from gateway.outbound.configure import retry_policy
from gateway.outbound.sender import claim, next_due, record
from gateway.outbound.transports import Transport
from gateway.work.digest import queue_digest
from gateway.work.periodic import queue_periodic_reports
from gateway.work.processor import process_pending
from gateway.work.scheduler import next_wakeup, tick

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 2.0


class Wakeup:
    """A level-triggered wake-up flag for a loop that otherwise polls."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()


class InlineWork:
    """Processing, the SLA scheduler and sending as tasks on the daemon's own loop."""

    def __init__(self, app: App, database: Database, clock: Clock, transport: Transport) -> None:
        self.app, self.database, self.clock, self.transport = app, database, clock, transport
        self.policy = retry_policy(app.settings)
        self.wake_processor, self.wake_sender, self.wake_scheduler = Wakeup(), Wakeup(), Wakeup()
        self.heartbeat = Heartbeat()  # beats each round of the processor's loop (gateway.daemon.heartbeat)

    def wake(self) -> None:
        self.wake_processor()

    async def process_step(self) -> int:
        done = await self.database.run(process_pending, self.app, self.database.sessions, self.clock,
                                       self.app.settings.gateway.process_batch)
        if done:
            self.wake_sender()
            self.wake_scheduler()  # new events may have moved an incident's next due time
        return done

    async def schedule_step(self) -> int:
        done = await self.database.run(tick, self.app, self.database.sessions, self.clock)
        done += await self.database.run(queue_digest, self.app, self.database.sessions, self.clock)
        done += await self.database.run(queue_periodic_reports, self.app, self.database.sessions, self.clock)
        if done:
            self.wake_sender()
        return done

    async def scheduler_idle(self) -> float:
        due = await self.database.run(next_wakeup, self.database.sessions)
        if due is None:
            return IDLE_POLL_SECONDS * 5
        return max(0.05, min((due - self.clock.now()).total_seconds(), IDLE_POLL_SECONDS))

    async def send_step(self) -> int:
        # Database work stays on the database worker; only the network I/O runs elsewhere.
        sessions = self.database.sessions
        parcels = await self.database.run(claim, sessions, self.clock.now(), self.policy, 50)
        if parcels:
            outcomes = await asyncio.to_thread(self.transport.deliver, parcels)
            await self.database.run(record, sessions, parcels, outcomes, self.clock.now(), self.policy)
        return len(parcels)

    async def sender_idle(self) -> float:
        due = await self.database.run(next_due, self.database.sessions)
        if due is None:
            return IDLE_POLL_SECONDS * 5
        return max(0.05, min((due - self.clock.now()).total_seconds(), 30.0))

    async def run(self, stop: asyncio.Event, running: Callable[[], None]) -> None:
        """Start the three loops, say `running()` once each has begun, and drain them at `stop`."""
        processing_stop, sending_stop = asyncio.Event(), asyncio.Event()
        begun = [asyncio.Event() for _ in range(3)]
        async with asyncio.TaskGroup() as group:
            group.create_task(_loop("processor", self.process_step, self.wake_processor, processing_stop,
                                    begun=begun[0], beat=self.heartbeat.beat), name="processor")
            group.create_task(_loop("scheduler", self.schedule_step, self.wake_scheduler, processing_stop,
                                    idle_timeout=self.scheduler_idle, begun=begun[1]), name="scheduler")
            group.create_task(_loop("sender", self.send_step, self.wake_sender, sending_stop,
                                    idle_timeout=self.sender_idle, begun=begun[2]), name="sender")
            for event in begun:
                await event.wait()
            running()
            await stop.wait()
            await _drain(self.process_step)
            processing_stop.set()
            self.wake_processor()
            self.wake_scheduler()
            await _drain(self.send_step, rounds=3)
            sending_stop.set()
            self.wake_sender()
        close = getattr(self.transport, "close", None)  # a relay connection kept for reuse
        if close is not None:
            close()


async def _loop(name: str, step: Callable[[], Awaitable[int]], wakeup: Wakeup, stop: asyncio.Event, *,
                idle_timeout: Callable[[], Awaitable[float]] | None = None,
                begun: asyncio.Event | None = None, beat: Callable[[], None] = lambda: None) -> None:
    """Run `step` until it finds nothing, then sleep until woken; survive any error."""
    if begun is not None:
        begun.set()
    while not stop.is_set():
        beat()
        try:
            done = await step()
        except Exception:  # noqa: BLE001 - a failing store must not kill the daemon
            log.exception("%s: step failed; retrying in %.0f s", name, ERROR_BACKOFF_SECONDS)
            await wakeup.wait(ERROR_BACKOFF_SECONDS)
            continue
        if done == 0:
            timeout = await idle_timeout() if idle_timeout else IDLE_POLL_SECONDS
            await _wait_either(wakeup, stop, timeout)


async def _wait_either(wakeup: Wakeup, stop: asyncio.Event, timeout: float) -> None:
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopper, asyncio.ensure_future(wakeup.wait(timeout))},
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()


async def _drain(step: Callable[[], Awaitable[int]], rounds: int = 1000) -> None:
    """Run `step` until it reports nothing left (bounded), swallowing errors: we are stopping."""
    deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
    for _ in range(rounds):
        if asyncio.get_running_loop().time() > deadline:
            return
        try:
            if await step() == 0:
                return
        except Exception:  # noqa: BLE001
            log.exception("drain step failed")
            return
