"""`[metrics]`, `[operators]` and `[logging]`: what an operator watches the daemon with (issue 12).

`[metrics] listen` opens an HTTP listener for Prometheus (`/metrics`) and for a load balancer's or
monitor's health check (`/healthz`); off by default, and on loopback unless you say otherwise:
the figures name customers' domains and mailboxes. `[operators]` gets a daily digest of what
needs a person (dead notices, quarantined mail, stale IMAP mailboxes), only on days with something.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from gateway.settings_sections import Address, Section, checked_address, is_loopback

_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]/]+)):(?P<port>\d{1,5})$")


class MetricsSection(Section):
    # "127.0.0.1:9109"; port 0 takes a free one (tests).
    listen: str = "127.0.0.1:9109"
    # /healthz says 503 once the work process (processor and SLA scheduler) has not gone round its
    # loop for this long: it loops at least once a second when idle, so minutes mean stuck.
    stuck_seconds: float = Field(default=120.0, gt=0)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        match = _HOST_PORT.match(value)
        if match is None or int(match["port"]) > 65535:
            raise ValueError(f"use HOST:PORT ('127.0.0.1:9109', '[::1]:9109'), not {value!r}")
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        match = _HOST_PORT.match(self.listen)
        assert match is not None
        return match["v6"] or match["host"], int(match["port"])

    @property
    def public(self) -> bool:
        return not is_loopback(self.host_port[0])


class OperatorsSection(Section):
    # Who gets the daily digest (dead notices, quarantine, stale IMAP).
    addresses: list[Address] = Field(min_length=1)
    # The digest goes out at the first scheduler tick after this hour (UTC), once a day at most.
    digest_hour: int = Field(default=7, ge=0, le=23)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [checked_address(value) for value in values]


class LoggingSection(Section):
    # "keyvalue": `level=INFO logger=gateway.x msg="..." key=value`; "json": one object a line;
    # "text": the classic `time LEVEL logger: message`. Under systemd (JOURNAL_STREAM set) no
    # timestamp is written: journald stamps every line itself.
    format: Literal["keyvalue", "json", "text"] = "keyvalue"
