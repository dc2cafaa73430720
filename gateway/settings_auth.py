"""`[authentication]`: what proves who sent a mail, and what happens to mail that proves nothing (issue 10).

Two sources of proof, either or both:

- `trusted_authserv_ids`: the `Authentication-Results` headers (RFC 8601) that the vendor's own MTA
  writes, recognised by their authserv-id. Headers with any other authserv-id are ignored: anybody
  can write one. This relies on the MTA removing (or writing above) foreign headers that claim its
  authserv-id (RFC 8601 §5) and on the gateway's SMTP port being reachable through that MTA only.
- `verify = "dkim"`: the gateway verifies DKIM signatures itself (RFC 6376) and requires the signing
  domain to be aligned with the From domain (DMARC relaxed alignment, RFC 7489 §3.1.1). DNS answers
  come from the system resolver, or only from `dns_zone_file` (a zone file of TXT records: sites
  without DNS, pinned keys, tests).

Policies per sender class: `engineers = "require"` holds an engineer's mail that proves nothing
(quarantined `engineer-unverified`, nothing changes); `"record"` only records the verdict.
`customers = "record"` stores the verdict and shows it in the engineers' notice; `"quarantine"` holds
a customer's unauthenticated mail (`unauthenticated`). Without the section nothing is checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.settings_sections import Section

# RFC 8601 §2.2: authserv-id is a value (RFC 2045 token or quoted string); in practice a host name.
_AUTHSERV_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class AuthenticationSection(Section):
    trusted_authserv_ids: list[str] = []
    verify: Literal["dkim"] | None = None
    engineers: Literal["require", "record"] = "require"
    customers: Literal["record", "quarantine"] = "record"
    dns_timeout: float = Field(default=3.0, gt=0, le=30)  # seconds per DNS lookup (a batch waits for it)
    dns_zone_file: Path | None = None  # answer DKIM key lookups from this file only, never from DNS

    @field_validator("trusted_authserv_ids")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _AUTHSERV_ID.match(value):
                raise ValueError(f"not an authserv-id (a host name such as mx.example.com): {value!r}")
        return [value.lower() for value in values]

    @model_validator(mode="after")
    def _something_to_check(self) -> AuthenticationSection:
        if not self.trusted_authserv_ids and self.verify is None:
            raise ValueError('trusted_authserv_ids or verify = "dkim": nothing would be checked '
                             "(remove the section to turn authentication off)")
        if self.dns_zone_file is not None and self.verify is None:
            raise ValueError('dns_zone_file: only used with verify = "dkim"')
        return self

    def describe(self) -> str:
        """One line for `check-config`: what is trusted and what each sender class needs."""
        sources = []
        if self.trusted_authserv_ids:
            sources.append("Authentication-Results from " + ", ".join(self.trusted_authserv_ids))
        if self.verify == "dkim":
            keys = f"keys from {self.dns_zone_file}" if self.dns_zone_file else "keys from DNS"
            sources.append(f"DKIM verified here ({keys})")
        return f"{'; '.join(sources)}; engineers {self.engineers}, customers {self.customers}"
