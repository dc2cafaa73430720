"""sd_notify(3) without a dependency: one datagram to $NOTIFY_SOCKET (the protocol is that small)."""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send e.g. "READY=1" or "STOPPING=1"; return False when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:  # the manager went away: a STOPPING=1 that cannot be sent must not stop the stop
        return False
    return True
