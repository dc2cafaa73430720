"""The work process's supervisor: start it, know that it runs, restart it when it dies, stop it.

READY=1 promises that the work runs, so the first work process must report that
it has built its app, opened its database engines and entered its loop
(gateway.daemon.worker) before serve() calls on_ready. One that dies at start,
or says nothing for WORKER_START_SECONDS, fails the daemon's start with
StartupError: systemd sees a failed start and its Restart= decides, instead of
a daemon that says it is ready and never processes a mail.

After READY a dying work process is the daemon's own business: the SMTP intake
keeps committing mail (nothing is lost; it waits, received, for the next work
process) and the work is started again. Restarts that keep failing, or work
processes that keep dying young, wait twice as long each time, up to
WORKER_RESTART_MAX_SECONDS: a work process that cannot start any more (its
database gone, say) becomes one log line a minute, not a spawn loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent

from gateway.daemon.doorbell import Doorbell
from gateway.daemon.heartbeat import Heartbeat
from gateway.daemon.parts import StartupError
from gateway.daemon.worker import StartReport, worker_main
from gateway.settings import Settings

log = logging.getLogger(__name__)

WORKER_START_SECONDS = 30.0  # spawn, imports, app, engines take a few seconds; systemd waits 90 s by default
WORKER_STOP_SECONDS = 30.0  # the longest [gateway] work_stop_seconds may be: the unit's TimeoutStopSec= allows it
WORKER_RESTART_SECONDS = 1.0  # the first pause before a restart; doubled while restarts keep failing
WORKER_RESTART_MAX_SECONDS = 60.0
WORKER_STEADY_SECONDS = 60.0  # a work process that ran this long before it died starts the pauses afresh
EXIT_GRACE_SECONDS = 5.0  # a work process that reported a failed start is finishing its exit: let it


class _NotRunning(Exception):
    """A work process did not report running; the message says what happened instead."""


@dataclass
class _Child:
    """One running work process and the flag that tells it to drain and stop."""

    process: BaseProcess
    stop_flag: ProcessEvent
    running_since: float  # time.monotonic()


class WorkProcess:
    """The work in a child process (gateway.daemon.worker): started, watched, restarted, drained."""

    def __init__(self, settings: Settings) -> None:
        self.settings_data = settings.model_dump(mode="json")
        self.context = multiprocessing.get_context("spawn")
        self.doorbell = Doorbell()
        self.heartbeat = Heartbeat(self.context.RawValue("d", 0.0))  # shared with each work process it starts
        self.log_format = settings.logging.format
        self.stop_seconds = min(settings.gateway.work_stop_seconds, WORKER_STOP_SECONDS)

    def wake(self) -> None:
        self.doorbell.ring()

    async def run(self, stop: asyncio.Event, running: Callable[[], None]) -> None:
        """Start the first work process (StartupError if it does not run), then keep one running until `stop`."""
        child: _Child | None = None
        try:
            try:
                child = await self._start()
            except _NotRunning as failed:
                raise StartupError(f"the work process did not start: {failed}; "
                                   "its log lines above say why") from None
            running()
            pause = WORKER_RESTART_SECONDS
            while child is not None and await _dies_before_stop(child, stop):
                pid, exitcode = child.process.pid, await _release(child.process)
                if time.monotonic() - child.running_since >= WORKER_STEADY_SECONDS:
                    pause = WORKER_RESTART_SECONDS
                log.error("work process %s exited with %s; restarting in %.0f s", pid, exitcode, pause)
                child = None  # released: if we are cancelled while restarting, there is none to stop
                child, pause = await self._restart(stop, pause)
        finally:
            if child is not None:  # at stop, or when the daemon's task group is cancelled
                await self._stop(child)
            self.doorbell.close()

    async def _restart(self, stop: asyncio.Event, pause: float) -> tuple[_Child | None, float]:
        """After `pause`, start a work process, doubling the pause each time; (None, _) if `stop` comes first."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            if stop.is_set():
                return None, pause
            pause = min(pause * 2, WORKER_RESTART_MAX_SECONDS)
            try:
                return await self._start(), pause
            except _NotRunning as failed:
                log.error("work process did not start again: %s; next attempt in %.0f s", failed, pause)

    async def _start(self) -> _Child:
        """Spawn a work process and wait for its StartReport; _NotRunning (and no process left) if it fails."""
        reports, report_end = self.context.Pipe(duplex=False)
        stop_flag = self.context.Event()
        process = self.context.Process(target=worker_main, name="support-gateway-work", args=(
            self.settings_data, self.doorbell.receiver, report_end, stop_flag, os.getpid(),
            logging.getLogger().getEffectiveLevel(), self.heartbeat.shared, self.log_format))
        try:
            process.start()
        except OSError as exc:
            reports.close()
            raise _NotRunning(f"cannot spawn it: {exc}") from None
        finally:
            report_end.close()  # the work process holds the only writer now: its death reads as end-of-file
        log.info("work process %s started; waiting for it to run", process.pid)
        try:
            problem = await asyncio.wait_for(_start_report(reports), WORKER_START_SECONDS)
        except TimeoutError:
            await _release(process)  # stuck before its loop, it holds nothing: a kill loses nothing
            raise _NotRunning(f"no word from it in {WORKER_START_SECONDS:.0f} s, so it was killed") from None
        except BaseException:  # cancelled while it starts: likewise
            await _release(process)
            raise
        finally:
            reports.close()
        if problem is not None:
            await _exited(process, EXIT_GRACE_SECONDS)
            raise _NotRunning(f"{problem} (exit code {await _release(process)})")
        log.info("work process %s is running", process.pid)
        return _Child(process, stop_flag, time.monotonic())

    async def _stop(self, child: _Child) -> None:
        """Tell the work process to drain and stop; kill it if it has not done so in [gateway] work_stop_seconds."""
        child.stop_flag.set()
        self.doorbell.ring()
        if not await _exited(child.process, self.stop_seconds):
            log.error("work process %s did not drain in %.0f s; killed", child.process.pid, self.stop_seconds)
        await _release(child.process)


async def _start_report(reports: Connection) -> str | None:
    """None once the work process reports running; else what happened instead, in words."""
    await _readable(reports.fileno())
    try:
        report: StartReport = reports.recv()
    except EOFError:
        return "it exited before it was running"
    return report.problem


async def _dies_before_stop(child: _Child, stop: asyncio.Event) -> bool:
    """Wait until the work process exits (True) or `stop` is set (False)."""
    exited = asyncio.ensure_future(_readable(child.process.sentinel))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        exited.cancel()
        stopping.cancel()
    return not stop.is_set()


async def _exited(process: BaseProcess, within: float) -> bool:
    """Whether the process exits within `within` seconds (its sentinel turns readable: no thread waits)."""
    try:
        await asyncio.wait_for(_readable(process.sentinel), within)
    except TimeoutError:
        return False
    return True


async def _release(process: BaseProcess) -> int | None:
    """Kill the process if it still runs, reap it, free its resources; its exit code."""
    if process.is_alive():
        process.kill()
        await _readable(process.sentinel)
    process.join()
    exitcode = process.exitcode
    process.close()
    return exitcode


async def _readable(fd: int) -> None:
    """Wait on the event loop until `fd` is readable (data or end-of-file)."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(fd)
