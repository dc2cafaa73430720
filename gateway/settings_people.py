"""Who is who in the settings: the vendor's engineers and the customers with their contacts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from gateway.core.plan import Duration
from gateway.settings_sections import Address, Section, checked_address


class EngineersSection(Section):
    """The vendor side (issue 4): only mail from these addresses or domains is an engineer's.

    `queue_address` receives a notification of every new incident and every
    customer reply; engineers answer it from their own mail client.

    `notice_attachments_max_bytes` (issue 11): the customer's attachments ride
    along on a notice up to this total size; above it the notice lists each one
    with its size and the `support-gateway attachments get` command that fetches
    it (a 25 MB mail copied to every engineer mailbox would fill their quotas).

    `status_prompt_minutes` (issue 14): this long before each status report is
    due, the assigned engineer (else the queue) is asked for a `#status` text
    for it; 0 turns the prompt off.
    """

    addresses: list[Address] = []
    domains: list[str] = []
    queue_address: Address | None = None
    locale: Literal["ja", "en"] = "ja"  # of notifications and command errors
    notice_attachments_max_bytes: int = Field(default=10 * 1024 * 1024, ge=0)  # 0: always listed, never attached
    status_prompt_minutes: int = Field(default=30, ge=0)  # 0: no prompt ahead of a status report

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [checked_address(v) for v in values]

    @field_validator("queue_address")
    @classmethod
    def _queue(cls, value: str | None) -> str | None:
        return None if value is None else checked_address(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [v.lower().lstrip("@") for v in values]

    def is_engineer(self, address: str) -> bool:
        address = address.lower()
        return address in self.addresses or address.rpartition("@")[2] in self.domains


class AgreedReportSection(Section):
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


class CustomerSection(Section):
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
        return [checked_address(v) for v in values]

    @field_validator("tam")
    @classmethod
    def _tam(cls, value: str | None) -> str | None:
        return None if value is None else checked_address(value)

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [v.lower().lstrip("@") for v in values]
