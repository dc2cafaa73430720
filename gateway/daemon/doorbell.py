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
import time
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
        self.unplugged = False  # the ringing end is closed: the daemon is gone (killed, say)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until rung or `timeout`; swallow every ring so far; return whether it rang.

        A daemon that was SIGKILLed closes the ringing end with it: the pipe then reads as
        end-of-file. That wakes the waiter once (its loop then sees its parent gone and stops);
        after that the bell only sleeps, so nothing spins on a dead pipe."""
        if self.unplugged:
            time.sleep(timeout if timeout is not None else 1.0)
            return False
        if not self.receiver.poll(timeout):
            return False
        try:
            while self.receiver.poll(0):
                self.receiver.recv_bytes()
        except EOFError:
            self.unplugged = True
        return True

    def clear(self) -> None:
        """Rings are consumed by wait(); nothing left to clear."""
