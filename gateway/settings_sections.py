"""The daemon's own settings sections: where it keeps data, how it listens, sends and polls.

Split from gateway.settings (which assembles and loads the whole file) so each module stays
small; importers keep using `from gateway.settings import ...`, which re-exports these.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.settings_problems import SettingsError

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# The built-in templates: package data of the wheel (pyproject maps the checkout's templates/ to
# `gateway.templates`). pip installs wheels unzipped, so the resource is a plain folder.
BUILTIN_TEMPLATES = Path(str(files("gateway.templates")))


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
    templates_dir: Path = BUILTIN_TEMPLATES  # your own folder replaces the built-in set
    plans_dir: Path | None = None  # operator-written plans, beside the built-in ones
    phone: str | None = None  # the support line customers are asked to call for severity 1/2
    process_batch: int = Field(default=100, ge=1, le=10_000)
    # Process and send in a separate work process (the second core); false = on the daemon's loop.
    work_process: bool = True
    # How long a stopping daemon lets the work process finish its step and drain before killing it
    # (gateway.daemon.supervisor). At most 30 s, which the unit's TimeoutStopSec= is sized for.
    work_stop_seconds: float = Field(default=30.0, gt=0, le=30.0)
    # Answer mail from an unknown address of a known customer's domain with a polite note saying
    # who may open incidents (the mail is held for an operator either way; issue 4).
    held_reply: bool = True
    # This node's name among several on one PostgreSQL (issue 15): recorded on IMAP leases and in
    # logs, so an operator sees which node polled a mailbox. Default: the host's name.
    node: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64,
                      pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

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
    # Several nodes use this PostgreSQL database (issue 15): every node must then read the same
    # reply-token secret from [tokens] (a node-local generated one would break other nodes' tokens).
    shared: bool = False


def machine_hostname() -> str:
    """This machine's name for the banner and Received: (RFC 5321 §4.1.3, §4.4): its FQDN.

    socket.getfqdn() answers "localhost" on a machine whose host name resolves to a loopback
    line of /etc/hosts; the bare host name says more than that.
    """
    fqdn = socket.getfqdn()
    return fqdn if "." in fqdn and not fqdn.startswith("localhost") else socket.gethostname()


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this machine can connect (0.0.0.0 and :: are every address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume it is reachable from elsewhere


class SmtpSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    hostname: str = Field(default_factory=machine_hostname, min_length=1)  # in the banner and Received:
    max_message_size: int = Field(default=30 * 1024 * 1024, ge=1024)
    # STARTTLS (RFC 3207) with this certificate chain and key (PEM), both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Refuse MAIL before STARTTLS (530). RFC 3207 §4: a publicly-referenced MX must not require
    # it; this is for a listener only your own MTAs use across a network.
    require_tls: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> SmtpSection:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_key: give both tls_cert and tls_key (STARTTLS), or neither")
        if self.require_tls and self.tls_cert is None:
            raise ValueError("require_tls: needs tls_cert and tls_key (STARTTLS)")
        return self


class OutboundSection(Section):
    folder: Path | None = None  # default: data_dir/outbox when no relay is configured
    # An MTA's rule (Postfix maximal_queue_lifetime): give up after this long in the queue, not after N tries.
    queue_lifetime_days: float = Field(default=5.0, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)  # an optional cap on tried deliveries
    first_retry_seconds: float = Field(default=60.0, gt=0)
    max_retry_seconds: float = Field(default=3600.0, gt=0)


CREDENTIAL_NAME = r"^[A-Za-z0-9_.-]{1,255}$"


def read_credential(name: str, key: str) -> str:
    """A systemd credential (`LoadCredential=NAME:FILE` in the unit): $CREDENTIALS_DIRECTORY/NAME.

    systemd copies the file, readable by the service only, before ExecStartPre runs; the
    service never needs read access to the original (systemd.exec(5), "Credentials").
    """
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not folder:
        raise SettingsError(f"{key}: $CREDENTIALS_DIRECTORY is not set: run under systemd, with "
                            f"LoadCredential={name}:/etc/support-gateway/credentials/{name} in the unit")
    path = Path(folder) / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{key}: cannot read credential {name!r} ({path}): {exc.strerror} "
                            f"(is LoadCredential={name}:... in the unit?)") from None


class _WithSecret(Section):
    """A password named, never written: an environment variable, a file, or a systemd credential."""

    password_env: str | None = None
    password_file: Path | None = None
    password_credential: str | None = Field(default=None, pattern=CREDENTIAL_NAME)

    @model_validator(mode="after")
    def _one_source(self) -> _WithSecret:
        given = [k for k in ("password_env", "password_file", "password_credential") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: give one source of the password")
        return self

    def password(self, where: str = "relay") -> str | None:
        if self.password_credential:
            return read_credential(self.password_credential, f"{where}.password_credential")
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


class TokensSection(Section):
    """The secret behind reply tokens (gateway.core.tokens): an environment variable, a file or a credential.

    Without either, a random secret is created once in `data_dir/reply-token.key`.
    Changing the secret invalidates every token already sent.
    """

    secret_env: str | None = None
    secret_file: Path | None = None
    secret_credential: str | None = Field(default=None, pattern=CREDENTIAL_NAME)  # LoadCredential= name
