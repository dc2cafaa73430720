"""`[lmtp]`: an LMTP listener (RFC 2033) for the MTA in front of the gateway.

A vendor's MX (Postfix, Exim) hands mail to an application over LMTP, as to Mailman 3:
Postfix's `transport_maps` sends the support domain to `lmtp:inet:127.0.0.1:24` (or
`lmtp:unix:PATH`). LMTP answers once per recipient after the mail is committed, so the MTA
keeps (and retries) exactly the recipients that were not taken. Same rules as SMTP: a
recipient that is not a support address is refused (550), a mail over `[smtp]
max_message_size` too (552).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from gateway.settings_sections import Section, is_loopback

_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]/]+)):(?P<port>\d{1,5})$")


class LmtpSection(Section):
    # "127.0.0.1:24", "[::1]:24", or the absolute path of a UNIX socket ("/run/support-gateway/lmtp").
    listen: str
    # Mode of a UNIX socket. The MTA's user must be able to write to it (Postfix runs its lmtp
    # client as `postfix`): use the folder's group, or 0666 inside a folder only it can reach.
    socket_mode: str = Field(default="0660", pattern=r"^0?[0-7]{3}$")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if value.startswith("/"):
            return value
        match = _HOST_PORT.match(value)
        if match is None or int(match["port"]) > 65535:
            raise ValueError(f"use HOST:PORT ('127.0.0.1:24', '[::1]:24') or an absolute socket path, not {value!r}")
        return value

    @property
    def socket_path(self) -> Path | None:
        return Path(self.listen) if self.listen.startswith("/") else None

    @property
    def host_port(self) -> tuple[str, int]:
        """(host, port) of a TCP listener; port 0 takes a free one (tests)."""
        match = _HOST_PORT.match(self.listen)
        assert match is not None, "a UNIX socket has no host and port"
        return match["v6"] or match["host"], int(match["port"])

    @property
    def public(self) -> bool:
        return self.socket_path is None and not is_loopback(self.host_port[0])

    @property
    def mode(self) -> int:
        return int(self.socket_mode, 8)
