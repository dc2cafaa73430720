"""systemd's watchdog (systemd.service(5) WatchdogSec=, sd_watchdog_enabled(3)): WATCHDOG=1 while work progresses.

systemd sets WATCHDOG_USEC (and WATCHDOG_PID) when the unit has WatchdogSec=; the service
must then send WATCHDOG=1 more often than that or be killed and restarted (Restart=). The
pings come from a task on the daemon's event loop, so a blocked loop stops them; and each is
sent only while the work loop's heartbeat is younger than the watchdog interval, so a work
process stuck in a step (or gone and not coming back) stops them too. A work process being
restarted by the supervisor beats again within seconds of starting, well inside the interval.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from gateway.daemon.heartbeat import Heartbeat

log = logging.getLogger(__name__)


def watchdog_seconds(environ: dict[str, str] | os._Environ[str] = os.environ) -> float | None:
    """The interval systemd asked for, or None: no WatchdogSec=, or the variables meant for another process."""
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


async def keep_watchdog_fed(interval: float, heartbeat: Heartbeat, notify: Callable[[str], object],
                            stop: asyncio.Event) -> None:
    """Every interval/3, send WATCHDOG=1 if the work loop beat within the interval; log once when it stops."""
    quiet = False
    while not stop.is_set():
        age = heartbeat.age()
        if age is not None and age < interval:
            notify("WATCHDOG=1")
            if quiet:
                log.warning("work loop beats again: watchdog pings resumed")
            quiet = False
        elif not quiet and age is not None:
            log.error("work loop has not gone round for %.0f s: no watchdog ping (systemd restarts the service "
                      "after WatchdogSec=)", age)
            quiet = True
        try:
            await asyncio.wait_for(stop.wait(), interval / 3)
        except TimeoutError:
            pass
