"""A doorbell between processes: ringing never blocks, waiting wakes on the first ring.

multiprocessing.Event.set() waits until every sleeping waiter has woken (its
Condition hands over), so calling it on the event loop for each accepted mail
stalls every SMTP session while the other process is scheduled. One byte into
a non-blocking pipe costs microseconds and never waits; a full pipe means the
bell is already ringing.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection


class Doorbell:
    def __init__(self) -> None:
        self.receiver, self._sender = multiprocessing.Pipe(duplex=False)
        os.set_blocking(self._sender.fileno(), False)

    def ring(self) -> None:
        try:
            self._sender.send_bytes(b"!")
        except BlockingIOError:  # the pipe is full: the other side has plenty to wake on
            pass

    def close(self) -> None:
        self._sender.close()
        self.receiver.close()


class Listener:
    """The waiting side of a Doorbell, given its receiving end (picklable for a spawned process)."""

    def __init__(self, receiver: Connection) -> None:
        self.receiver = receiver

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until rung or `timeout`; swallow every ring so far; return whether it rang."""
        if not self.receiver.poll(timeout):
            return False
        while self.receiver.poll(0):
            self.receiver.recv_bytes()
        return True

    def clear(self) -> None:
        """Rings are consumed by wait(); nothing left to clear."""
