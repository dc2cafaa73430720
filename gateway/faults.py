"""The one named test seam: crash the process at a named point, as a power cut or `kill -9` would.

Exactly-once claims ("committed before moved") are only believable if a test can
kill the real daemon between the two steps. Set SUPPORT_GATEWAY_CRASH_AT to a
point's name and the process SIGKILLs itself when it gets there: no cleanup, no
`finally`, no flushed buffers — the database and the IMAP server see exactly
what they would after a crash. Unset (always, in production) it costs one
environment look-up.

Points: "imap-after-commit" — the IMAP ledger rows of a batch are committed and
the messages are not yet moved or flagged (gateway/intake/imap_poll.py).
"work-start" — a work process has built its app and entered its loop and has not
yet told the daemon it runs (gateway/daemon/worker.py): a work process that dies
at start, which must fail the daemon's start rather than let it report READY.
"""

from __future__ import annotations

import logging
import os
import signal
import time

CRASH_ENV = "SUPPORT_GATEWAY_CRASH_AT"
# The same seam for a process that hangs instead of dying (issue 12: the watchdog must notice).
# Points: "work-after-mail" — the work process has processed a mail and never goes round again.
STALL_ENV = "SUPPORT_GATEWAY_STALL_AT"
STALL_SECONDS = 3600.0

log = logging.getLogger(__name__)


def crash_point(name: str) -> None:
    """SIGKILL this process if SUPPORT_GATEWAY_CRASH_AT names this point."""
    if os.environ.get(CRASH_ENV) != name:
        return
    log.critical("crash point %r reached: SIGKILL (%s is set)", name, CRASH_ENV)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def stall_point(name: str) -> None:
    """Hang this thread (sleep STALL_SECONDS) if SUPPORT_GATEWAY_STALL_AT names this point."""
    if os.environ.get(STALL_ENV) != name:
        return
    log.critical("stall point %r reached: hanging (%s is set)", name, STALL_ENV)
    time.sleep(STALL_SECONDS)
