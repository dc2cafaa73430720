"""The daemon as a function: serve(settings, stop=..., on_ready=...).

Every task runs under one TaskGroup on one event loop: the SMTP listener (and the
LMTP one, gateway.daemon.listeners), one
IMAP poller per [[imap]] account (each on its own thread), and the work —
processing and sending — either in a supervised work process (the default: it
gets the second core, and SMTP senders never wait behind it) or as tasks on
this loop (`[gateway] work_process = false`, used where one process
is wanted, e.g. deterministic tests). `__main__`/the CLI wire SIGTERM and
sd_notify; tests wire an Event. on_ready (READY=1) comes once every part is up:
the listener listens, the work runs (gateway.daemon.supervisor: the work process
has said so) and each IMAP poller's thread is started, connected or not. On stop:
stop listening, let in-flight DATA commands commit, process what was received,
finish the current send, return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway.app import App, build_app
from gateway.clock import Clock, SystemClock
from gateway.daemon.inline import InlineWork
from gateway.daemon.listeners import open_listeners
from gateway.daemon.parts import DRAIN_SECONDS, Ready, StartupError, Work
from gateway.daemon.supervisor import WorkProcess
from gateway.daemon.watching import Watching
from gateway.database import Database
from gateway.intake.imap import imap_credentials, serve_imap
from gateway.intake.smtp import IntakeHandler
from gateway.outbound.configure import make_transport
from gateway.outbound.transports import Transport
from gateway.settings import Settings
from gateway.single_node import NodeLock, check_node_settings
from gateway.work.directory import sync_customers
from store.db import make_engine
from store.migrate import current_revision, head_revision, upgrade

__all__ = ["Ready", "StartupError", "prepare_store", "serve"]

log = logging.getLogger(__name__)


def prepare_store(app: App, database: Database, clock: Clock) -> None:
    """Bring the schema to head (if allowed) and load customers from the settings."""
    if app.settings.database.auto_upgrade:
        upgrade(database.engine)
    elif current_revision(database.engine) != head_revision(database.engine):
        raise RuntimeError("database schema is not at head: run `support-gateway db upgrade`")
    with database.sessions.begin() as session:
        sync_customers(session, app.settings.customers, clock.now())


async def serve(settings: Settings, *, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None,
                clock: Clock | None = None, transport: Transport | None = None) -> None:
    """Run the gateway until `stop` is set; return after draining in-flight work."""
    clock = clock or SystemClock()
    check_node_settings(settings)
    node_lock = NodeLock(settings)  # SQLite: this daemon's alone (issue 15)
    node_lock.acquire()
    try:
        await _serve_locked(settings, stop, on_ready, clock, transport)
    finally:
        node_lock.release()


async def _serve_locked(settings: Settings, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None,
                        clock: Clock, transport: Transport | None) -> None:
    app = build_app(settings)
    log.info("node %s starting", settings.gateway.node)
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
        work: Work = (WorkProcess(settings) if settings.gateway.work_process
                      else InlineWork(app, database, clock, transport or make_transport(settings)))
        try:
            await _serve(app, database, clock, stop, on_ready, work)
        except* StartupError as failed:  # a part that could not come up ended the task group
            raise failed.exceptions[0] from None
    finally:
        database.close()


async def _serve(app: App, database: Database, clock: Clock, stop: asyncio.Event,
                 on_ready: Callable[[Ready], None] | None, work: Work) -> None:
    settings = app.settings
    imap_accounts, imap_stop = imap_credentials(settings), asyncio.Event()  # IMAP intake (issue 3)
    handler = IntakeHandler(database, frozenset(settings.gateway.support_addresses), clock, work.wake,
                            hostname=settings.smtp.hostname)
    listeners = await open_listeners(settings, handler)  # SMTP, and LMTP with [lmtp] (issue 12)
    intake_closed = asyncio.Event()
    watching = Watching(settings, database, clock, work.heartbeat, listeners.smtp.is_serving)
    try:
        metrics_address = await watching.start()  # /metrics, /healthz with [metrics] (issue 12)
        async with asyncio.TaskGroup() as group:
            up = [asyncio.Event() for _ in range(1 + len(imap_accounts))]  # the work, then each poller
            group.create_task(work.run(intake_closed, up[0].set), name="work")
            imap_tasks = [group.create_task(serve_imap(account, password, database, clock, wake=work.wake,
                                                       max_size=settings.smtp.max_message_size, stop=imap_stop,
                                                       started=started.set, node=settings.gateway.node),
                                                       name=f"imap-{account.name}")
                          for (account, password), started in zip(imap_accounts, up[1:], strict=True)]
            if await _all_up_before_stop(up, stop) and on_ready:
                on_ready(Ready(settings.smtp.host, listeners.smtp_port, listeners.lmtp_address, metrics_address))
            watching.feed_watchdog(group, stop)  # systemd WatchdogSec= (issue 12)
            await stop.wait()
            log.info("stopping: no new SMTP connections; draining")
            listeners.close()
            imap_stop.set()  # IMAP pollers finish the batch in hand (commit, then move) and return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(handler.idle.wait(), DRAIN_SECONDS)
            if imap_tasks:
                await asyncio.wait(imap_tasks)
            intake_closed.set()  # the work drains what was received, then returns
    finally:
        watching.close()
        listeners.close()
        await listeners.wait_closed()
    log.info("stopped")


async def _all_up_before_stop(up: list[asyncio.Event], stop: asyncio.Event) -> bool:
    """Wait until every part says it is up (True), or `stop` is set first (False: no READY then)."""
    all_up = asyncio.ensure_future(_each_set(up))  # a task, not gather(): cancelled, it stays quiet
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({all_up, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        all_up.cancel()
        stopping.cancel()
    return all(event.is_set() for event in up)


async def _each_set(events: list[asyncio.Event]) -> None:
    for event in events:
        await event.wait()
