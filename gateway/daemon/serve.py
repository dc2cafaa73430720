"""The daemon as a function: serve(settings, stop=..., on_ready=...).

Every task runs under one TaskGroup on one event loop: the SMTP listener, one
IMAP poller per [[imap]] account (each on its own thread), and the work —
processing and sending — either in a supervised work process (the default: it
gets the second core, and SMTP senders never wait behind it) or as tasks on
this loop (`[gateway] work_process = false`, used where one process
is wanted, e.g. deterministic tests). `__main__`/the CLI wire SIGTERM and
sd_notify; tests wire an Event. On stop: stop listening, let in-flight DATA
commands commit, process what was received, finish the current send, return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.app import App, build_app
from gateway.clock import Clock, SystemClock
from gateway.database import Database
from gateway.work.directory import sync_customers
from gateway.daemon.doorbell import Doorbell
from gateway.intake.imap import imap_credentials, serve_imap
from gateway.intake.smtp import IntakeHandler, make_smtp_factory
from gateway.work.processor import process_pending
from gateway.work.scheduler import next_wakeup, tick
from gateway.outbound.configure import make_transport, retry_policy
from gateway.outbound.sender import claim, next_due, record
from gateway.settings import Settings
from gateway.outbound.transports import Transport
from store.db import make_engine
from store.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 2.0
DRAIN_SECONDS = 10.0
WORKER_STOP_SECONDS = 30.0
WORKER_RESTART_SECONDS = 1.0


class StartupError(Exception):
    """The daemon cannot start (port taken, say); the message names the setting to look at."""


@dataclass(frozen=True)
class Ready:
    smtp_host: str
    smtp_port: int


def prepare_store(app: App, database: Database, clock: Clock) -> None:
    """Bring the schema to head (if allowed) and load customers from the settings."""
    if app.settings.database.auto_upgrade:
        upgrade(database.engine)
    elif current_revision(database.engine) != head_revision(database.engine):
        raise RuntimeError("database schema is not at head: run `support-gateway db upgrade`")
    with database.sessions.begin() as session:
        sync_customers(session, app.settings.customers, clock.now())


class _Wakeup:
    """A level-triggered wake-up flag for a loop that otherwise polls."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()


async def serve(settings: Settings, *, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None,
                clock: Clock | None = None, transport: Transport | None = None) -> None:
    """Run the gateway until `stop` is set; return after draining in-flight work."""
    clock = clock or SystemClock()
    app = build_app(settings)
    if settings.relay is not None:
        settings.relay.password()  # a missing secret fails the start, not the first send
    url, synchronous = settings.database_url, settings.database.sqlite_synchronous
    database = Database(make_engine(url, sqlite_synchronous=synchronous),
                        # SMTP intake retries SQLite locks itself, finely (see accept_raw), and
                        # leaves WAL checkpoints to the work (its commits stay short).
                        intake_engine=make_engine(url, sqlite_synchronous=synchronous, busy_timeout=0.0,
                                                  checkpoints=not settings.gateway.work_process))
    try:
        await database.run(prepare_store, app, database, clock)
        if settings.gateway.work_process:
            await _serve(app, database, clock, stop, on_ready, _WorkProcess(settings))
        else:
            await _serve(app, database, clock, stop, on_ready,
                         _InlineWork(app, database, clock, transport or make_transport(settings)))
    finally:
        database.close()


class _Work:
    """What processes and sends: started with the listener, woken per mail, drained at stop."""

    def wake(self) -> None: ...
    async def run(self, stop: asyncio.Event) -> None: ...


async def _serve(app: App, database: Database, clock: Clock, stop: asyncio.Event,
                 on_ready: Callable[[Ready], None] | None, work: _Work) -> None:
    settings = app.settings
    imap_accounts, imap_stop = imap_credentials(settings), asyncio.Event()  # IMAP intake (issue 3)
    handler = IntakeHandler(database, frozenset(settings.gateway.support_addresses), clock, work.wake)
    loop = asyncio.get_running_loop()
    try:
        server = await loop.create_server(
            make_smtp_factory(handler, hostname=settings.smtp.hostname,
                              max_message_size=settings.smtp.max_message_size),
            host=settings.smtp.host, port=settings.smtp.port,
        )
    except OSError as exc:
        raise StartupError(f"cannot listen for SMTP on {settings.smtp.host}:{settings.smtp.port}: "
                           f"{exc.strerror or exc} (smtp.host / smtp.port)") from None
    port = server.sockets[0].getsockname()[1]
    log.info("listening for SMTP on %s:%s", settings.smtp.host, port)
    intake_closed = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(work.run(intake_closed))
            imap_tasks = [group.create_task(serve_imap(account, password, database, clock, wake=work.wake,
                                                       max_size=settings.smtp.max_message_size, stop=imap_stop))
                          for account, password in imap_accounts]  # one poller thread per [[imap]] (issue 3)
            if on_ready:
                on_ready(Ready(settings.smtp.host, port))
            await stop.wait()
            log.info("stopping: no new SMTP connections; draining")
            server.close()
            imap_stop.set()  # IMAP pollers finish the batch in hand (commit, then move) and return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handler.idle.wait(), DRAIN_SECONDS)
            if imap_tasks:
                await asyncio.wait(imap_tasks)
            intake_closed.set()  # the work drains what was received, then returns
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)
    log.info("stopped")


class _InlineWork(_Work):
    """Processing, the SLA scheduler and sending as tasks on the daemon's own loop."""

    def __init__(self, app: App, database: Database, clock: Clock, transport: Transport) -> None:
        self.app, self.database, self.clock, self.transport = app, database, clock, transport
        self.policy = retry_policy(app.settings)
        self.wake_processor, self.wake_sender, self.wake_scheduler = _Wakeup(), _Wakeup(), _Wakeup()

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

    async def run(self, stop: asyncio.Event) -> None:
        processing_stop, sending_stop = asyncio.Event(), asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(_loop("processor", self.process_step, self.wake_processor, processing_stop))
            group.create_task(_loop("scheduler", self.schedule_step, self.wake_scheduler, processing_stop,
                                    idle_timeout=self.scheduler_idle))
            group.create_task(_loop("sender", self.send_step, self.wake_sender, sending_stop,
                                    idle_timeout=self.sender_idle))
            await stop.wait()
            await _drain(self.process_step)
            processing_stop.set()
            self.wake_processor()
            self.wake_scheduler()
            await _drain(self.send_step, rounds=3)
            sending_stop.set()
            self.wake_sender()


class _WorkProcess(_Work):
    """The work in a child process (gateway.daemon.worker), restarted if it dies."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.doorbell = Doorbell()

    def wake(self) -> None:
        self.doorbell.ring()

    async def run(self, stop: asyncio.Event) -> None:
        from gateway.daemon.worker import worker_main

        data = self.settings.model_dump(mode="json")
        while True:
            stop_flag = self.context.Event()
            process = self.context.Process(
                target=worker_main, name="support-gateway-work",
                args=(data, self.doorbell.receiver, stop_flag, os.getpid(), logging.getLogger().getEffectiveLevel()),
            )
            process.start()
            log.info("work process %s started", process.pid)
            exited = asyncio.ensure_future(asyncio.to_thread(process.join))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                stop_flag.set()
                self.doorbell.ring()
                await self._join(process, exited)
                self.doorbell.close()
                return
            stopping.cancel()
            log.error("work process %s exited with %s; restarting", process.pid, process.exitcode)
            process.close()
            await asyncio.sleep(WORKER_RESTART_SECONDS)

    async def _join(self, process: multiprocessing.process.BaseProcess, exited: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(exited), WORKER_STOP_SECONDS)
        except TimeoutError:
            log.error("work process %s did not drain in %.0f s; killed", process.pid, WORKER_STOP_SECONDS)
            process.kill()
            await exited
        process.close()


async def _loop(name: str, step: Callable[[], Awaitable[int]], wakeup: _Wakeup, stop: asyncio.Event,
                idle_timeout: Callable[[], Awaitable[float]] | None = None) -> None:
    """Run `step` until it finds nothing, then sleep until woken; survive any error."""
    while not stop.is_set():
        try:
            done = await step()
        except Exception:  # noqa: BLE001 - a failing store must not kill the daemon
            log.exception("%s: step failed; retrying in %.0f s", name, ERROR_BACKOFF_SECONDS)
            await wakeup.wait(ERROR_BACKOFF_SECONDS)
            continue
        if done == 0:
            timeout = await idle_timeout() if idle_timeout else IDLE_POLL_SECONDS
            await _wait_either(wakeup, stop, timeout)


async def _wait_either(wakeup: _Wakeup, stop: asyncio.Event, timeout: float) -> None:
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
