"""The daemon as a function: serve(settings, stop=..., on_ready=...).

Every task runs under one TaskGroup on one event loop: the SMTP listener, the
processor and the sender. `__main__`/the CLI wire SIGTERM and sd_notify; tests
wire an Event. On stop: stop listening, let in-flight DATA commands commit,
process what was received, finish the current send, then return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App, build_app
from gateway.clock import Clock, SystemClock
from gateway.database import Database
from gateway.directory import sync_customers
from gateway.intake_smtp import IntakeHandler, make_smtp_factory
from gateway.processor import process_pending
from gateway.sender import RetryPolicy, claim, next_due, record
from gateway.settings import Settings
from gateway.transports import FolderTransport, RelayConfig, SmtpRelayTransport, Transport
from store.db import make_engine
from store.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 2.0
DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class Ready:
    smtp_host: str
    smtp_port: int


def make_transport(settings: Settings) -> Transport:
    relay = settings.relay
    if relay is None:
        return FolderTransport(settings.outbox_folder)
    return SmtpRelayTransport(RelayConfig(
        host=relay.host, port=relay.port, starttls=relay.starttls, tls=relay.tls,
        username=relay.username, password=relay.password(), timeout=relay.timeout,
        local_hostname=settings.smtp.hostname,
    ))


def retry_policy(settings: Settings) -> RetryPolicy:
    out = settings.outbound
    return RetryPolicy(max_attempts=out.max_attempts, first_retry=timedelta(seconds=out.first_retry_seconds),
                       max_retry=timedelta(seconds=out.max_retry_seconds))


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


async def _loop(name: str, step: Callable[[], Awaitable[int]], wakeup: _Wakeup, stop: asyncio.Event,
                after: Callable[[int], None] = lambda _n: None, idle_timeout: Callable[[], Awaitable[float]] | None = None) -> None:
    """Run `step` until it finds nothing, then sleep until woken; survive any error."""
    while not stop.is_set():
        try:
            done = await step()
        except Exception:  # noqa: BLE001 - a failing store must not kill the daemon
            log.exception("%s: step failed; retrying in %.0f s", name, ERROR_BACKOFF_SECONDS)
            await wakeup.wait(ERROR_BACKOFF_SECONDS)
            continue
        after(done)
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


async def serve(settings: Settings, *, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None,
                clock: Clock | None = None, transport: Transport | None = None) -> None:
    """Run the gateway until `stop` is set; return after draining in-flight work."""
    clock = clock or SystemClock()
    app = build_app(settings)
    database = Database(make_engine(settings.database_url, sqlite_synchronous=settings.database.sqlite_synchronous))
    try:
        await database.run(prepare_store, app, database, clock)
        await _serve(app, database, clock, transport or make_transport(settings), stop, on_ready)
    finally:
        database.close()


async def _serve(app: App, database: Database, clock: Clock, transport: Transport, stop: asyncio.Event,
                 on_ready: Callable[[Ready], None] | None) -> None:
    settings = app.settings
    sessions: sessionmaker[Session] = database.sessions
    wake_processor, wake_sender = _Wakeup(), _Wakeup()
    handler = IntakeHandler(database, frozenset(settings.gateway.support_addresses), clock, wake_processor)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        make_smtp_factory(handler, hostname=settings.smtp.hostname, max_message_size=settings.smtp.max_message_size),
        host=settings.smtp.host, port=settings.smtp.port,
    )
    port = server.sockets[0].getsockname()[1]
    log.info("listening for SMTP on %s:%s", settings.smtp.host, port)
    policy = retry_policy(settings)
    processing_stop, sending_stop = asyncio.Event(), asyncio.Event()

    async def process_step() -> int:
        return await database.run(process_pending, app, sessions, clock, settings.gateway.process_batch)

    async def send_step() -> int:
        # Database work stays on the database worker; only the network I/O runs elsewhere.
        parcels = await database.run(claim, sessions, clock.now(), policy, 50)
        if parcels:
            outcomes = await asyncio.to_thread(transport.deliver, parcels)
            await database.run(record, sessions, parcels, outcomes, clock.now(), policy)
        return len(parcels)

    async def sender_idle() -> float:
        due = await database.run(next_due, sessions)
        if due is None:
            return IDLE_POLL_SECONDS * 5
        return max(0.05, min((due - clock.now()).total_seconds(), 30.0))

    def after_processing(done: int) -> None:
        if done:
            wake_sender()

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_loop("processor", process_step, wake_processor, processing_stop, after_processing))
            group.create_task(_loop("sender", send_step, wake_sender, sending_stop, idle_timeout=sender_idle))
            if on_ready:
                on_ready(Ready(settings.smtp.host, port))
            await stop.wait()
            log.info("stopping: no new SMTP connections; draining")
            server.close()
            await _drain_smtp(handler)
            await _drain(process_step)
            processing_stop.set()
            wake_processor()
            await _drain(send_step, rounds=3)
            sending_stop.set()
            wake_sender()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1.0)
    log.info("stopped")


async def _drain_smtp(handler: IntakeHandler) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(handler.idle.wait(), DRAIN_SECONDS)


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
