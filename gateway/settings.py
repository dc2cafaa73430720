"""Settings: one TOML file, validated at start-up with errors that name the bad key.

Secrets never need to live in the file: `password_env` / `password_file` name
an environment variable or a file (systemd credentials), and
SUPPORT_GATEWAY_DATABASE_URL overrides `[database] url`.

Relative paths in the file are taken from the file's own folder, so a command
means the same thing from any working directory. The sections themselves live
in gateway.settings_sections, gateway.settings_people, gateway.settings_auth, gateway.settings_imap
and gateway.settings_lmtp; import them from here. Errors are gateway.settings_problems'.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from gateway.settings_auth import AuthenticationSection
from gateway.settings_limits import LimitsSection
from gateway.settings_mail import MailSection
from gateway.settings_imap import ImapSection
from gateway.settings_lmtp import LmtpSection
from gateway.settings_ops import LoggingSection, MetricsSection, OperatorsSection
from gateway.settings_people import AgreedReportSection, CustomerSection, EngineersSection
from gateway.settings_problems import Problem, SettingsError
from gateway.settings_sections import (
    Address,
    DatabaseSection,
    GatewaySection,
    OutboundSection,
    RelaySection,
    Section,
    SmtpSection,
    TokensSection,
    checked_address,
)

__all__ = [
    "AgreedReportSection", "CustomerSection", "DatabaseSection", "EngineersSection", "GatewaySection",
    "ImapSection", "LimitsSection", "MailSection", "OutboundSection", "RelaySection", "Settings", "SettingsError",
    "SmtpSection",
    "TokensSection", "load_settings", "settings_from_dict",
    "AuthenticationSection", "LmtpSection", "Problem",
    "LoggingSection", "MetricsSection", "OperatorsSection",
]


class Settings(Section):
    gateway: GatewaySection
    database: DatabaseSection = DatabaseSection()
    smtp: SmtpSection = Field(default_factory=SmtpSection)  # per file: hostname is looked up now
    lmtp: LmtpSection | None = None  # an LMTP listener for the MTA in front (issue 12)
    outbound: OutboundSection = OutboundSection()
    relay: RelaySection | None = None
    imap: list[ImapSection] = []
    engineers: EngineersSection = EngineersSection()
    tokens: TokensSection = TokensSection()
    authentication: AuthenticationSection | None = None  # None: nothing is checked (issue 10)
    mail: MailSection = MailSection()
    customers: list[CustomerSection] = []
    limits: LimitsSection = LimitsSection()  # rate limits on automatic mail (issue 10)
    # Escalation rung → internal recipients (issue 5), e.g. `support-manager = ["mgr@vendor.test"]`.
    # A rung without recipients goes to the engineers' queue address.
    escalation: dict[str, list[Address]] = {}
    metrics: MetricsSection | None = None  # /metrics and /healthz over HTTP (issue 12)
    operators: OperatorsSection | None = None  # the operators' daily digest (issue 12)
    logging: LoggingSection = LoggingSection()  # key=value or JSON log lines (issue 12)

    @field_validator("escalation")
    @classmethod
    def _escalation(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {rung: [checked_address(a) for a in addresses] for rung, addresses in value.items()}

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


def _problems(error: ValidationError) -> list[Problem]:
    """One Problem per pydantic error, keyed like the file: `customers[0].plan`, `escalation.x`.

    A model validator's error is located at its section only: its message starts with the key
    inside it (`customers[1].key: duplicate ...`, `security: plain IMAP ...` in `imap[0]`), which
    is joined to the location; pydantic's "Value error, " prefix is dropped.
    """
    problems = []
    for item in error.errors():
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]).lstrip(".")
        message = item["msg"].removeprefix("Value error, ")
        inner = Problem.parse(message) if item["type"] == "value_error" else Problem("", message)
        key = ".".join(part for part in (location, inner.key) if part)
        problems.append(Problem(key, inner.message))
    return problems


def settings_from_dict(data: dict[str, object]) -> Settings:
    """Validate a settings mapping as it stands: paths in it are used exactly as written.

    The work process rebuilds its settings this way from the daemon's `model_dump`, whose
    paths load_settings has already made absolute; resolving here again would be wrong
    whenever the two processes' working directories differ.
    """
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(*_problems(exc)) from None


_Model = TypeVar("_Model", bound=BaseModel)


def _resolved(section: _Model, folder: Path) -> _Model:
    """The section with every relative Path field (in nested sections too) taken from `folder`."""
    changes: dict[str, object] = {}
    for name in type(section).model_fields:
        value = getattr(section, name)
        if isinstance(value, Path) and not value.is_absolute():
            changes[name] = Path(os.path.normpath(folder / value))
        elif isinstance(value, BaseModel):
            changes[name] = _resolved(value, folder)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            changes[name] = [_resolved(item, folder) for item in value]
    return section.model_copy(update=changes) if changes else section


def load_settings(path: Path) -> Settings:
    """Read and validate a TOML settings file; relative paths in it are taken from its folder.

    `--config /etc/x/gateway.toml` with `data_dir = "var"` means /etc/x/var whatever the
    current directory (issue 9: run from /tmp it used to create /tmp/var/gateway.db). The
    folder is the one the path names (symlinks are not followed) and `..` is folded away as
    text: `data_dir = "../var"` in examples/gateway.toml is the repository's var. A SQLite URL in
    `[database] url` is SQLAlchemy's and is left as written: a relative one there still
    depends on the current directory, so write it absolute or leave `url` out.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(Problem("", "no such settings file", path)) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        raise SettingsError(Problem("", f"not valid TOML: {exc}", path, int(line[1]) if line else None)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(Problem("", f"cannot read: {exc}", path)) from None
    try:
        settings = settings_from_dict(data)
    except SettingsError as exc:
        raise exc.located(path) from None
    return _resolved(settings, path.absolute().parent)
