"""LMTP intake (RFC 2033) for the MTA in front of the gateway, on the daemon's own loop.

The same handler as SMTP (gateway.intake.smtp.IntakeHandler): a recipient that is not a
support address is refused at RCPT (550), DATA past `[smtp] max_message_size` gets 552, and
the mail is committed through accept_raw's group commit before anything is answered. What
LMTP adds is the answer after DATA: one reply per accepted recipient (§4.2), so the MTA knows
for each recipient whether we hold the mail. All recipients of one mail share one commit, so
they all get the same reply: 250 once it is durable, 451 when the store failed (the MTA
keeps the mail and retries), 552 when it was too big.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.lmtp import LMTP

from gateway.intake.smtp import IntakeHandler
from gateway.intake.smtp_data import LeanDataSMTP
from gateway.settings_lmtp import LmtpSection


class LeanDataLMTP(LMTP, LeanDataSMTP):
    """aiosmtpd's LMTP (LHLO; HELO and EHLO refused) with the lean DATA reader of SMTP intake."""

    def _data_reply(self, status: str) -> str:
        assert self.envelope is not None
        return "\r\n".join([status] * max(1, len(self.envelope.rcpt_tos)))


def make_lmtp_factory(handler: IntakeHandler, *, hostname: str, max_message_size: int) -> Callable[[], LMTP]:
    def factory() -> LMTP:
        return LeanDataLMTP(
            handler,
            hostname=hostname,
            data_size_limit=max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="support-gateway LMTP",
            loop=asyncio.get_running_loop(),
        )

    return factory


async def listen_lmtp(section: LmtpSection, factory: Callable[[], LMTP]) -> asyncio.Server:
    """Listen on TCP or on a UNIX socket (made with `socket_mode`; a stale socket file is replaced)."""
    loop = asyncio.get_running_loop()
    path = section.socket_path
    if path is None:
        host, port = section.host_port
        return await loop.create_server(factory, host=host, port=port)
    _remove_stale_socket(path)
    server = await loop.create_unix_server(factory, path=str(path))
    os.chmod(path, section.mode)
    return server


def _remove_stale_socket(path: Path) -> None:
    """A socket left by a daemon that was killed would make bind() fail; any other file stays."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


def listening_on(server: asyncio.Server, section: LmtpSection) -> str:
    """Where the server listens, as an operator would write it (a port 0 in the settings becomes the real one)."""
    if section.socket_path is not None:
        return str(section.socket_path)
    host, port = server.sockets[0].getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
