"""Settings: one TOML file, validated at start-up with errors that name the bad key.

Secrets never need to live in the file: `password_env` / `password_file` name
an environment variable or a file (systemd credentials), and
SUPPORT_GATEWAY_DATABASE_URL overrides `[database] url`.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.core.plan import Duration

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class SettingsError(Exception):
    """The settings file is missing, unreadable or invalid; the message names the key."""


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value.lower()


Address = Annotated[str, Field(min_length=3, max_length=320)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Section):
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
        return [_address(v) for v in values]

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @property
    def sender_address(self) -> str:
        return self.from_address or self.support_addresses[0]


class DatabaseSection(_Section):
    url: str | None = None  # default: sqlite under data_dir
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    auto_upgrade: bool = True  # bring the schema to head at start-up


class SmtpSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    hostname: str | None = None
    max_message_size: int = Field(default=30 * 1024 * 1024, ge=1024)


class OutboundSection(_Section):
    folder: Path | None = None  # default: data_dir/outbox when no relay is configured
    max_attempts: int = Field(default=12, ge=1)
    first_retry_seconds: float = Field(default=60.0, gt=0)
    max_retry_seconds: float = Field(default=3600.0, gt=0)


class _WithSecret(_Section):
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


class EngineersSection(_Section):
    """The vendor side (issue 4): only mail from these addresses or domains is an engineer's.

    `queue_address` receives a notification of every new incident and every
    customer reply; engineers answer it from their own mail client.
    """

    addresses: list[Address] = []
    domains: list[str] = []
    queue_address: Address | None = None
    locale: Literal["ja", "en"] = "ja"  # of notifications and command errors

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_address(v) for v in values]

    @field_validator("queue_address")
    @classmethod
    def _queue(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [v.lower().lstrip("@") for v in values]

    def is_engineer(self, address: str) -> bool:
        address = address.lower()
        return address in self.addresses or address.rpartition("@")[2] in self.domains


class TokensSection(_Section):
    """The secret behind reply tokens (gateway.core.tokens): an environment variable or a file.

    Without either, a random secret is created once in `data_dir/reply-token.key`.
    Changing the secret invalidates every token already sent.
    """

    secret_env: str | None = None
    secret_file: Path | None = None


class AgreedReportSection(_Section):
    """A status-report cadence agreed with the customer (support-programs.md §4 "as agreed")."""

    every: str  # a plan duration: "24h", "8h30m", "2d"
    clock: Literal["wall", "business"] = "business"

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        duration = Duration.parse(value)
        if duration.months or not (duration.days or duration.hours or duration.minutes):
            raise ValueError("use a positive duration without months, e.g. 24h or 8h30m")
        return value


class CustomerSection(_Section):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    plan: str
    locale: Literal["ja", "en"] = "ja"
    charset: Literal["utf-8", "iso-2022-jp"] = "utf-8"
    domains: list[str] = []
    contacts: list[Address] = Field(default=[], max_length=8)  # support-programs.md §7
    # The customer's Technical Account Manager: copied on every scheduled notice of a plan
    # with copy_tam_on_notices (Sophos TAM, seeds/000 §4.1), and the "tam" escalation rung.
    tam: Address | None = None
    # Replaces the plan's "per-agreement" status reports (default: none are sent).
    status_report: AgreedReportSection | None = None

    @field_validator("contacts")
    @classmethod
    def _contacts(cls, values: list[str]) -> list[str]:
        return [_address(v) for v in values]

    @field_validator("tam")
    @classmethod
    def _tam(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [v.lower().lstrip("@") for v in values]


class Settings(_Section):
    gateway: GatewaySection
    database: DatabaseSection = DatabaseSection()
    smtp: SmtpSection = SmtpSection()
    outbound: OutboundSection = OutboundSection()
    relay: RelaySection | None = None
    imap: list[ImapSection] = []
    engineers: EngineersSection = EngineersSection()
    tokens: TokensSection = TokensSection()
    customers: list[CustomerSection] = []
    # Escalation rung → internal recipients (issue 5), e.g. `support-manager = ["mgr@vendor.test"]`.
    # A rung without recipients goes to the engineers' queue address.
    escalation: dict[str, list[Address]] = {}

    @field_validator("escalation")
    @classmethod
    def _escalation(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {rung: [_address(a) for a in addresses] for rung, addresses in value.items()}

    @model_validator(mode="after")
    def _unique_customers(self) -> Settings:
        seen: dict[str, str] = {}
        for index, customer in enumerate(self.customers):
            if customer.key in seen:
                raise ValueError(f"customers[{index}].key: duplicate customer key {customer.key!r}")
            seen[customer.key] = customer.key
        names = [account.name for account in self.imap]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise ValueError(f"imap[{index}].name: duplicate IMAP account name {name!r}")
        owners: dict[str, str] = {}
        for index, customer in enumerate(self.customers):
            for address in customer.contacts:
                if address in owners:
                    raise ValueError(
                        f"customers[{index}].contacts: {address} is already a contact of {owners[address]!r}"
                    )
                owners[address] = customer.key
        for address in [*self.engineers.addresses, self.engineers.queue_address]:
            if address in owners:
                raise ValueError(f"engineers: {address} is a contact of customer {owners[address]!r}")
        if self.engineers.queue_address in self.gateway.support_addresses:
            raise ValueError("engineers.queue_address: must not be a support address (notifications would loop)")
        return self

    @property
    def database_url(self) -> str:
        env = os.environ.get("SUPPORT_GATEWAY_DATABASE_URL")
        if env:
            return env
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.gateway.data_dir / 'gateway.db').as_posix()}"

    @property
    def outbox_folder(self) -> Path:
        return self.outbound.folder or self.gateway.data_dir / "outbox"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in item["loc"])
        lines.append(f"{location.replace('.[', '[')}: {item['msg']}")
    return "; ".join(lines)


def settings_from_dict(data: dict[str, object], *, base_dir: Path | None = None) -> Settings:
    """Validate a settings mapping; relative paths are resolved against `base_dir`."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    if base_dir is None:
        return settings
    return _resolve_paths(settings, base_dir)


def _resolve_paths(settings: Settings, base_dir: Path) -> Settings:
    def resolve(path: Path | None) -> Path | None:
        return None if path is None or path.is_absolute() else base_dir / path

    gateway = settings.gateway.model_copy(
        update={"data_dir": resolve(settings.gateway.data_dir) or settings.gateway.data_dir}
    )
    outbound = settings.outbound.model_copy(
        update={"folder": resolve(settings.outbound.folder) or settings.outbound.folder}
    )
    return settings.model_copy(update={"gateway": gateway, "outbound": outbound})


def load_settings(path: Path, *, base_dir: Path | None = None) -> Settings:
    """Read and validate a TOML settings file.

    Relative paths (data_dir, outbound.folder) are taken from the current
    directory unless `base_dir` is given, so `make run` keeps its data in ./var.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    try:
        return settings_from_dict(data, base_dir=base_dir)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None
