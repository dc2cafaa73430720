"""The work process: the processor, the SLA scheduler and the sender, beside the SMTP process.

The scheduler's tick runs in the processor thread, after each processing step:
both write incidents, and one writer thread keeps SQLite's lock uncontended.

Python runs one thread at a time per process; parsing, deciding and writing
incidents would otherwise take the CPU from the SMTP sessions and make senders
wait for their 250. In its own process the work uses the machine's second core
and the intake stays quick. The daemon starts, wakes, drains and restarts it
(gateway.daemon.supervisor); it ignores SIGINT/SIGTERM and stops when told to or when its
parent is gone, so nothing is left half-done by a signal. Once it has built its app,
opened its database engines and entered its loop it says so (one StartReport on a
pipe): the daemon reports READY only then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App, build_app
from gateway.work.authentication import authenticator_for
from gateway.work.directory import SenderCache
from gateway.daemon.doorbell import Listener
from gateway.clock import Clock, SystemClock
from gateway.logformat import configure_logging
from gateway.daemon.heartbeat import Heartbeat
from gateway.faults import crash_point, stall_point
from gateway.work.digest import queue_digest
from gateway.work.periodic import queue_periodic_reports
from gateway.work.processor import process_pending
from gateway.work.scheduler import next_wakeup, tick
from gateway.outbound.configure import make_transport, retry_policy
from gateway.outbound.claims import Claimant, process_alive, release_dead_claims
from gateway.outbound.journal import SentJournal, journal_path
from gateway.outbound.sender import RetryPolicy, apply_journal, next_due, recover_journals, send_due
from gateway.settings import settings_from_dict
from gateway.outbound.transports import Transport
from store.db import is_store_unavailable, make_engine, make_sessionmaker

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
# The sender thread waits on the relay (four SMTP round trips a letter) and on commits; each time
# it wakes it needs the GIL back from the CPU-bound processor thread, which by default keeps it
# up to 5 ms (sys.getswitchinterval). At 200 mails a second that convoy held the sender to fewer
# letters a second than mails arrived (250 → acknowledgement at the relay p99 2.9 s). Half a
# millisecond lets it take its turn promptly; the processor loses little (issue 10 speed).
SWITCH_INTERVAL_SECONDS = 0.0005
DRAIN_ROUNDS = 1000
ERROR_PAUSE_SECONDS = 2.0
FIRST_STORE_PAUSE_SECONDS = 0.1
T = TypeVar("T")


class Wake(Protocol):
    """What wakes the idle loop: a doorbell Listener (or a threading.Event in tests)."""

    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Stop(Protocol):
    """What tells the loop to drain and return: a multiprocessing.Event."""

    def is_set(self) -> bool: ...


@dataclass
class WorkLoop:
    """Process received mail and send due mail until stopped; testable with plain objects.

    Sending runs in its own thread: it waits on the relay and on fsync, and the
    processor should not wait with it.
    """

    app: App
    readers: sessionmaker[Session]
    writers: sessionmaker[Session]
    transport: Transport
    policy: RetryPolicy
    clock: Clock
    # The sender's own store connection, whose commits need not wait for the disk (store.db,
    # durable_commits=False): each delivery is recorded as the relay answers it, and a power cut
    # can at worst make a letter go twice. None: the writers.
    senders: sessionmaker[Session] | None = None

    def __post_init__(self) -> None:
        self._senders = SenderCache()
        self._authenticator = authenticator_for(self.app.settings)  # its DNS cache lives as long as the loop
        self._send_wake = threading.Event()
        self._processing_done = threading.Event()
        self.claimant = Claimant.for_this_process(self.app.settings.gateway.node)
        gateway, me = self.app.settings.gateway, self.claimant
        self.journal = SentJournal(journal_path(gateway.data_dir, me.node, me.pid, me.generation))

    def process_step(self) -> int:
        done = process_pending(self.app, self.readers, self.clock, self.app.settings.gateway.process_batch,
                               self.writers, self._senders, self._authenticator)
        if done:
            self._send_wake.set()
        return done

    def schedule_step(self) -> int:
        """One SLA scheduler tick (gateway.work.scheduler): due notices become outbox rows."""
        done = tick(self.app, self.writers, self.clock, readers=self.readers)
        done += queue_digest(self.app, self.writers, self.clock)  # the operators' daily digest (issue 12)
        done += queue_periodic_reports(self.app, self.writers, self.clock, self.readers)  # reviews (issue 14)
        if done:
            self._send_wake.set()
        return done

    def send_step(self) -> int:
        return send_due(self.senders or self.writers, self.transport, self.clock, self.policy,
                        claimant=str(self.claimant), journal=self.journal)

    def schedule_idle_seconds(self) -> float:
        """Sleep until the earliest incident is due (at most IDLE_SECONDS; new mail rings the bell)."""
        due = next_wakeup(self.readers)
        if due is None:
            return IDLE_SECONDS
        return max(0.01, min((due - self.clock.now()).total_seconds(), IDLE_SECONDS))

    def idle_seconds(self) -> float:
        due = next_due(self.readers)
        if due is None:
            return IDLE_SECONDS
        return max(0.01, min((due - self.clock.now()).total_seconds(), IDLE_SECONDS))

    def run(self, wake: Wake, stop: Stop, parent_pid: int | None = None,
            on_running: Callable[[], None] = lambda: None, beat: Callable[[], None] = lambda: None) -> None:
        """Loop until `stop`; `on_running` is called once both loops are under way, `beat` each round.

        First what a dead predecessor on this node delivered is recorded from its journal, then the
        rows it still held mid-send are made due (issue 10 item 5): they go out within a second of
        the restart, not when their lease runs out, and none it had delivered goes again."""
        me = self.claimant
        _guarded("applying dead senders' journals", lambda: recover_journals(
            self.writers, self.app.settings.gateway.data_dir, me.node, me.pid, me.generation, self.policy,
            process_alive))
        _guarded("releasing dead claims", lambda: release_dead_claims(self.writers, self.claimant, self.clock.now()))
        sender = threading.Thread(target=self._send_loop, name="sender")
        sender.start()
        try:
            on_running()
            self._process_loop(wake, stop, parent_pid, beat)
        finally:
            self._processing_done.set()
            self._send_wake.set()
            sender.join()

    def _process_loop(self, wake: Wake, stop: Stop, parent_pid: int | None,
                      beat: Callable[[], None] = lambda: None) -> None:
        while not stop.is_set():
            beat()  # the watchdog and /healthz: this loop goes round (gateway.daemon.heartbeat)
            if parent_pid is not None and os.getppid() != parent_pid:
                log.error("the daemon is gone; the work process stops")
                return
            processed = _guarded("processing", self.process_step)
            if processed > 0:
                stall_point("work-after-mail")
            scheduled = _guarded("scheduling", self.schedule_step)
            if processed == 0 and scheduled == 0:
                wake.wait(_guarded("scheduling", self.schedule_idle_seconds, IDLE_SECONDS))
                wake.clear()
        for _ in range(DRAIN_ROUNDS):  # what was received before the stop is processed
            if _guarded("processing", self.process_step) <= 0:
                return

    def _send_loop(self) -> None:
        while not self._processing_done.is_set():
            if _guarded("sending", self.send_step) == 0:
                self._send_wake.wait(_guarded("sending", self.idle_seconds, IDLE_SECONDS))
                self._send_wake.clear()
        try:
            for _ in range(DRAIN_ROUNDS):  # what is due now is tried once more
                if _guarded("sending", self.send_step) <= 0:
                    return
        finally:
            close = getattr(self.transport, "close", None)  # a relay connection kept for reuse
            if close is not None:
                _guarded("closing the relay connection", close)
            _guarded("writing the sender's journal", lambda: apply_journal(self.senders or self.writers,
                                                                          self.journal, self.policy))
            self.journal.close(remove_if_empty=True)


def _guarded(what: str, step: Callable[[], T], failed: T | int = -1) -> T | int:
    """Run one step; on an error log it, pause, and report `failed` (the next round retries).

    When the store itself is away (a PostgreSQL restart or failover, issue 15:
    store.db.is_store_unavailable) the step is retried with exponential backoff, 0.1 s doubling
    to ERROR_PAUSE_SECONDS: mail flows again within a fraction of a second of the store coming
    back, and the log says once that it went and once that it came back, instead of a traceback
    every round. Any other error is logged with its traceback each time.
    """
    try:
        result = step()
    except Exception as error:  # noqa: BLE001 - keep the work process alive; the next step retries
        streak = _outages.get(what)
        if not is_store_unavailable(error):
            log.exception("%s step failed; retrying", what)
            time.sleep(ERROR_PAUSE_SECONDS)
            return failed
        if streak is None:
            _outages[what] = streak = _Outage(time.monotonic())
            log.error("%s step: the store is unavailable (%s: %s); retrying with backoff", what,
                      type(error).__name__, str(error).strip().splitlines()[0] if str(error).strip() else "")
        streak.failures += 1
        time.sleep(min(ERROR_PAUSE_SECONDS, FIRST_STORE_PAUSE_SECONDS * 2 ** (streak.failures - 1)))
        return failed
    if (streak := _outages.pop(what, None)) is not None:
        log.warning("%s step: the store is back after %.1f s (%d retries)", what,
                    time.monotonic() - streak.since, streak.failures)
    return result


@dataclass
class _Outage:
    """A run of steps that failed because the store was away: since when, how many tries."""

    since: float
    failures: int = 0


_outages: dict[str, _Outage] = {}  # by step name; each name is used by one thread only


@dataclass(frozen=True)
class StartReport:
    """The work process's one word to the daemon: it runs (no problem), or why it could not start."""

    problem: str | None = None


def worker_main(settings_data: dict[str, Any], doorbell: Connection, reports: Connection, stop: Stop,
                parent_pid: int, log_level: int, heartbeat: Any = None, log_format: str = "text") -> None:
    """Entry point of the work process (multiprocessing, spawn): start, report, loop until stopped."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(level=log_level, style=log_format, process="worker",
                      node=settings_data.get("gateway", {}).get("node"))
    engines: list[Engine] = []
    try:
        try:
            loop = _start_work(settings_data, engines)
        except Exception as exc:  # noqa: BLE001 - told to the daemon, which fails its start with it
            log.exception("the work process cannot start")
            _report(reports, StartReport(problem=f"{type(exc).__name__}: {exc}"))
            raise SystemExit(1) from None

        def running() -> None:
            crash_point("work-start")
            _report(reports, StartReport())

        loop.run(Listener(doorbell), stop, parent_pid, on_running=running, beat=Heartbeat(heartbeat).beat)
    finally:
        for engine in engines:
            engine.dispose()


def _start_work(settings_data: dict[str, Any], engines: list[Engine]) -> WorkLoop:
    """Build the app and open the engines, each connected once: a database only this process
    cannot reach fails the start here, not the first step."""
    settings = settings_from_dict(settings_data)
    url, synchronous = settings.database_url, settings.database.sqlite_synchronous
    readers = make_engine(url, sqlite_synchronous=synchronous)
    engines.append(readers)
    writers = make_engine(url, sqlite_synchronous=synchronous, immediate=True)
    engines.append(writers)
    # busy_timeout=0: the sender retries a locked SQLite itself, finely (gateway.outbound.sender).
    senders = make_engine(url, immediate=True, durable_commits=False, busy_timeout=0.0)
    engines.append(senders)
    for engine in engines:
        engine.connect().close()
    return WorkLoop(build_app(settings), make_sessionmaker(readers), make_sessionmaker(writers),
                    make_transport(settings), retry_policy(settings), SystemClock(), make_sessionmaker(senders))


def _report(reports: Connection, report: StartReport) -> None:
    with contextlib.suppress(OSError):  # the daemon is gone: the loop notices and stops
        reports.send(report)
    reports.close()
