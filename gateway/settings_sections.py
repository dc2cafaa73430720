"""The daemon's own settings sections: where it keeps data, how it listens, sends and polls.

Split from gateway.settings (which assembles and loads the whole file) so each module stays
small; importers keep using `from gateway.settings import ...`, which re-exports these.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class SettingsError(Exception):
    """The settings file is missing, unreadable or invalid; the message names the key."""


def checked_address(value: str) -> str:
    """The address, lower-cased, or a ValueError that pydantic reports under the key."""
    if not _ADDRESS.match(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value.lower()


Address = Annotated[str, Field(min_length=3, max_length=320)]


class Section(BaseModel):
    """Every section: an unknown key is an error (a misspelt key must not silently do nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(Section):
    """Who the gateway is and where it keeps its files.

    Relative paths here and in every other section are taken from the settings file's folder
    (gateway.settings.load_settings), never from the directory the command happens to run in.
    """

    name: str = "Support"
    support_addresses: list[Address] = Field(min_length=1)
    from_address: Address | None = None  # defaults to the first support address
    data_dir: Path = Path("var")
    loop_marker: str = Field(default="support-gateway", min_length=1, max_length=100)
    templates_dir: Path = _DEFAULT_TEMPLATES
    plans_dir: Path | None = None  # operator-written plans, beside the built-in ones
    phone: str | None = None  # the support line customers are asked to call for severity 1/2
    process_batch: int = Field(default=100, ge=1, le=10_000)
    # Process and send in a separate work process (the second core); false = on the daemon's loop.
    work_process: bool = True
    # Answer mail from an unknown address of a known customer's domain with a polite note saying
    # who may open incidents (the mail is held for an operator either way; issue 4).
    held_reply: bool = True

    @field_validator("support_addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [checked_address(v) for v in values]

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str | None) -> str | None:
        return None if value is None else checked_address(value)

    @property
    def sender_address(self) -> str:
        return self.from_address or self.support_addresses[0]


class DatabaseSection(Section):
    # Default: SQLite in data_dir. A URL is SQLAlchemy's and used as written: a relative SQLite
    # path in it depends on the current directory, unlike the paths elsewhere in the file.
    url: str | None = None
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    auto_upgrade: bool = True  # bring the schema to head at start-up


class SmtpSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    hostname: str | None = None
    max_message_size: int = Field(default=30 * 1024 * 1024, ge=1024)


class OutboundSection(Section):
    folder: Path | None = None  # default: data_dir/outbox when no relay is configured
    max_attempts: int = Field(default=12, ge=1)
    first_retry_seconds: float = Field(default=60.0, gt=0)
    max_retry_seconds: float = Field(default=3600.0, gt=0)


class _WithSecret(Section):
    """A password named, never written: an environment variable or a file (systemd credentials)."""

    password_env: str | None = None
    password_file: Path | None = None

    def password(self, where: str = "relay") -> str | None:
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                raise SettingsError(f"{where}.password_env: environment variable {self.password_env} is not set")
            return value
        if self.password_file:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{where}.password_file: {exc}") from exc
        return None


class RelaySection(_WithSecret):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    tls: bool = False  # implicit TLS (port 465)
    ca_file: Path | None = None  # trust this CA (a private relay); the system store otherwise
    username: str | None = None
    timeout: float = Field(default=30.0, gt=0)


_LOOPBACK = ("127.", "::1", "localhost")


class ImapSection(_WithSecret):
    """One mailbox to poll (issue 3): read with BODY.PEEK[], committed, then moved or flagged."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # default 993 for tls, else 143
    security: Literal["tls", "starttls", "plain"] = "tls"
    user: str
    mailbox: str = "INBOX"
    mode: Literal["move", "flag"] = "move"  # flag: for servers without MOVE/UIDPLUS
    processed_folder: str = "Processed"
    poll_interval: float = Field(default=60.0, gt=0)
    idle: bool = True
    batch_size: int = Field(default=50, ge=1, le=1000)
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ImapSection:
        if self.security == "plain" and not self.host.startswith(_LOOPBACK):
            raise ValueError(f"security: plain IMAP is allowed only on loopback, not {self.host!r}")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class TokensSection(Section):
    """The secret behind reply tokens (gateway.core.tokens): an environment variable or a file.

    Without either, a random secret is created once in `data_dir/reply-token.key`.
    Changing the secret invalidates every token already sent.
    """

    secret_env: str | None = None
    secret_file: Path | None = None
