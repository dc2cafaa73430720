"""The daemon's listeners: SMTP always, LMTP with an `[lmtp]` section; both on the daemon's loop.

Both are bound before READY, and a listener that cannot bind stops the start with one line
naming the setting (a port taken, a socket folder missing). They share one intake handler, so
the drain at stop waits for in-flight DATA on either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from gateway.daemon.parts import StartupError
from gateway.intake.lmtp import listen_lmtp, listening_on, make_lmtp_factory
from gateway.intake.smtp import IntakeHandler, make_smtp_factory
from gateway.intake.tls import server_tls_context
from gateway.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Listeners:
    smtp: asyncio.Server
    smtp_port: int
    lmtp: asyncio.Server | None = None
    lmtp_address: str | None = None  # "127.0.0.1:24" or a socket path, as it listens

    lmtp_socket: Path | None = None

    def close(self) -> None:
        for server in (self.smtp, self.lmtp):
            if server is not None:
                server.close()
        if self.lmtp_socket is not None:  # Python 3.11 leaves the socket file behind
            self.lmtp_socket.unlink(missing_ok=True)
            self.lmtp_socket = None

    async def wait_closed(self, timeout: float = 1.0) -> None:
        for server in (self.smtp, self.lmtp):
            if server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), timeout)


async def open_listeners(settings: Settings, handler: IntakeHandler) -> Listeners:
    smtp_settings = settings.smtp
    smtp = await _bound(
        asyncio.get_running_loop().create_server(
            make_smtp_factory(handler, hostname=smtp_settings.hostname, max_message_size=smtp_settings.max_message_size,
                              tls_context=server_tls_context(smtp_settings), require_tls=smtp_settings.require_tls),
            host=smtp_settings.host, port=smtp_settings.port),
        f"SMTP on {smtp_settings.host}:{smtp_settings.port}", "smtp.host / smtp.port")
    listeners = Listeners(smtp, smtp.sockets[0].getsockname()[1])
    log.info("listening for SMTP on %s:%s%s", smtp_settings.host, listeners.smtp_port,
             " (STARTTLS)" if smtp_settings.tls_cert else "")
    if settings.lmtp is not None:
        factory = make_lmtp_factory(handler, hostname=smtp_settings.hostname,
                                    max_message_size=smtp_settings.max_message_size)
        try:
            listeners.lmtp = await _bound(listen_lmtp(settings.lmtp, factory), f"LMTP on {settings.lmtp.listen}",
                                          "lmtp.listen")
        except BaseException:
            listeners.close()
            raise
        listeners.lmtp_address = listening_on(listeners.lmtp, settings.lmtp)
        listeners.lmtp_socket = settings.lmtp.socket_path
        log.info("listening for LMTP on %s", listeners.lmtp_address)
    return listeners


async def _bound(listening: Awaitable[asyncio.Server], what: str, keys: str) -> asyncio.Server:
    try:
        return await listening
    except OSError as exc:
        raise StartupError(f"cannot listen for {what}: {exc.strerror or exc} ({keys})") from None
