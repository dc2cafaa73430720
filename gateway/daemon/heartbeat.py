"""The work loop's heartbeat: when it last went round, readable by the daemon's own loop.

The work process writes time.monotonic() (CLOCK_MONOTONIC: one clock for every process of the
machine) into a shared double after each round of its processing loop, which runs the SLA
scheduler too and goes round at least once a second when idle. The daemon reads it to decide
whether to send systemd WATCHDOG=1 and what `/healthz` says: a work process stuck in a step
stops the beats, so systemd's watchdog restarts the service (systemd.service(5) WatchdogSec=).
"""

from __future__ import annotations

import multiprocessing.sharedctypes
import time
from typing import Any


class Heartbeat:
    """A shared monotonic timestamp: `beat()` in the work loop, `age()` in the daemon."""

    def __init__(self, shared: Any = None) -> None:
        # A RawValue from the work process's multiprocessing context, passed to it at spawn; in one
        # process (inline work, tests) a plain one.
        self.shared = shared if shared is not None else multiprocessing.sharedctypes.RawValue("d", 0.0)

    def beat(self) -> None:
        self.shared.value = time.monotonic()

    def age(self) -> float | None:
        """Seconds since the last beat; None before the first."""
        last = self.shared.value
        return None if last == 0.0 else max(time.monotonic() - last, 0.0)
