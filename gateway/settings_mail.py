"""`[mail]`: how inbound mail is judged and bounded, and when bounces stop automatic mail (issue 13).

Re-exported by gateway.settings like the other sections.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from gateway.settings_sections import Section, checked_address

_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


class MailSection(Section):
    """What inbound mail may be and which automatic mail is still wanted.

    `accept_automatic_from`: addresses or domains ("servicenow@customer.example",
    "@jira.customer.example") whose Auto-Submitted, Precedence: bulk or list mail is
    still wanted as incidents when they are an authorized contact (ServiceNow or Jira
    notifications). Such mail is never answered (RFC 3834 §2): the incident opens
    without an acknowledgement and the engineers' notice says so.

    `hard_bounce_limit`: after this many hard bounces (5.x.x) of our mail to one
    address, automatic mail to it (acknowledgements, status reports, reminders...) stops;
    engineers' answers still go. `customers show` lists such addresses.

    The `max_*` bounds stop a hostile mail before it costs much; a mail over one is
    quarantined with the bound's reason code (too-many-header-fields, header-too-large,
    mime-too-deep, too-many-parts, too-many-attachments).

    `duplicate_window_days` (issue 11): a mail whose Message-ID and sender match one
    received within this many days is stored but not processed again (reason
    `duplicate-message-id`): a customer's server retrying through another hop, or
    the same mail fetched by IMAP after it came by SMTP. 0 turns the check off.
    """

    accept_automatic_from: list[str] = []
    hard_bounce_limit: int = Field(default=3, ge=1, le=1000)
    max_header_fields: int = Field(default=1000, ge=20, le=100_000)
    max_header_bytes: int = Field(default=1024 * 1024, ge=4096)
    max_mime_depth: int = Field(default=40, ge=2, le=48)
    max_parts: int = Field(default=1000, ge=2, le=100_000)
    max_attachments: int = Field(default=250, ge=1, le=100_000)
    duplicate_window_days: int = Field(default=7, ge=0, le=366)

    @field_validator("accept_automatic_from")
    @classmethod
    def _senders(cls, values: list[str]) -> list[str]:
        checked = []
        for value in values:
            value = value.strip().lower()
            if value.startswith("@") or "@" not in value:
                domain = value.lstrip("@")
                if not _DOMAIN.match(domain):
                    raise ValueError(f"not an address or a domain: {value!r}")
                checked.append("@" + domain)
            else:
                checked.append(checked_address(value))
        return checked
