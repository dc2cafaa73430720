"""What serve() asks of the parts it starts, and what it tells the world once they are all up.

READY (on_ready, and so sd_notify READY=1) is a promise: the SMTP listener
(and the LMTP one, with [lmtp]) listens, the work runs and the IMAP poller threads are started. Each part says
when it is up; a part that cannot come up raises StartupError, so the daemon's
start fails with one clear line instead of reporting READY and doing nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.daemon.heartbeat import Heartbeat

DRAIN_SECONDS = 10.0  # at stop: how long each stage may take to finish what it holds


class StartupError(Exception):
    """The daemon cannot start (port taken, say); the message names the setting or the log to look at."""


@dataclass(frozen=True)
class Ready:
    """What on_ready is told: where the listeners listen (port 0 in the settings becomes a real one)."""

    smtp_host: str
    smtp_port: int
    lmtp: str | None = None  # "127.0.0.1:24" or the socket path, when [lmtp] is set
    metrics: str | None = None  # "127.0.0.1:9109" as bound, when [metrics] is set (issue 12)


class Work(Protocol):
    """What processes and sends: started with the listener, woken per mail, drained at stop.

    `heartbeat` beats each time the processing loop (which runs the SLA scheduler) goes round:
    the watchdog and /healthz read it (gateway.daemon.heartbeat)."""

    heartbeat: Heartbeat

    def wake(self) -> None:
        """New mail is committed: look soon. Called on the SMTP path, so it never blocks."""

    async def run(self, stop: asyncio.Event, running: Callable[[], None]) -> None:
        """Call `running()` once the work is up, or raise StartupError if it cannot come up;
        once `stop` is set, finish what was received and return."""
