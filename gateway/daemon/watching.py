"""What lets an operator (and systemd) watch the daemon: the `[metrics]` listener and the watchdog pings.

Both look at the same two things besides the store: the work loop's heartbeat (gateway.daemon.heartbeat)
and whether the SMTP listener still serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.clock import Clock
from gateway.daemon.heartbeat import Heartbeat
from gateway.daemon.metrics_http import MetricsServer
from gateway.daemon.systemd_notify import notify
from gateway.daemon.watchdog import keep_watchdog_fed, watchdog_seconds
from gateway.database import Database
from gateway.settings import Settings


class Watching:
    def __init__(self, settings: Settings, database: Database, clock: Clock, heartbeat: Heartbeat,
                 listening: Callable[[], bool]) -> None:
        self.heartbeat = heartbeat
        self.metrics = (MetricsServer(settings, database, clock, heartbeat, listening)
                        if settings.metrics is not None else None)

    async def start(self) -> str | None:
        """Open the metrics listener (StartupError if it cannot bind); its address, or None without [metrics]."""
        return await self.metrics.start() if self.metrics is not None else None

    def feed_watchdog(self, group: asyncio.TaskGroup, stop: asyncio.Event) -> None:
        """With WatchdogSec= in the unit (WATCHDOG_USEC set), ping systemd while the work loop beats."""
        interval = watchdog_seconds()
        if interval is not None:
            group.create_task(keep_watchdog_fed(interval, self.heartbeat, notify, stop), name="watchdog")

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
