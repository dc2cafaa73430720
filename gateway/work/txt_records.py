"""The DNS seam: TXT records for DKIM keys (RFC 6376 §3.6.2), from the system resolver or a zone file.

Every DNS lookup the gateway makes goes through a TxtResolver, so there is one place that talks
to the network and one place tests replace: a ZoneFile answers from a master file (RFC 1035 §5,
read by dnspython: `$ORIGIN`, parentheses and split strings as `opendkim-genkey` writes them) and
never asks DNS, for sites without DNS, for pinned keys, and for tests.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Protocol

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.zone

NEGATIVE_SECONDS = 60.0  # a name whose lookup failed is not asked again for this long


class DnsTemporaryFailure(Exception):
    """No answer now (timeout, SERVFAIL, no resolver): a `temperror`, worth trying again later."""


class TxtResolver(Protocol):
    def txt(self, name: str) -> bytes | None:
        """The first TXT record of `name` (its strings joined), None if there is none; may raise
        DnsTemporaryFailure."""


class SystemDns:
    """The system's resolver (/etc/resolv.conf) through dnspython, answers cached for their TTL.

    Built lazily, so a host without resolver configuration fails each lookup with a temporary
    failure instead of failing start-up. A failed name is not asked again for NEGATIVE_SECONDS:
    a batch of mails signed by one domain with a dead name server waits once, not once per mail.
    """

    def __init__(self, timeout: float, nameservers: list[str] | None = None, port: int = 53) -> None:
        self._timeout, self._nameservers, self._port = timeout, nameservers, port
        self._resolver: dns.resolver.Resolver | None = None
        self._failed: dict[str, tuple[float, str]] = {}

    def txt(self, name: str) -> bytes | None:
        failed = self._failed.get(name)
        if failed is not None and time.monotonic() - failed[0] < NEGATIVE_SECONDS:
            raise DnsTemporaryFailure(failed[1])
        try:
            answer = self._get_resolver().resolve(name, "TXT", search=False, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except (dns.exception.DNSException, OSError) as exc:  # timeout, SERVFAIL, no configuration
            reason = f"{type(exc).__name__}: {exc}"
            self._failed[name] = (time.monotonic(), reason)
            raise DnsTemporaryFailure(reason) from exc
        self._failed.pop(name, None)
        return next((b"".join(rdata.strings) for rdata in answer), None)

    def _get_resolver(self) -> dns.resolver.Resolver:
        if self._resolver is None:
            resolver = dns.resolver.Resolver(configure=self._nameservers is None)
            if self._nameservers is not None:
                resolver.nameservers, resolver.port = self._nameservers, self._port
            resolver.lifetime = self._timeout
            resolver.cache = dns.resolver.LRUCache(10_000)
            self._resolver = resolver
        return self._resolver


class ZoneFile:
    """TXT records from a zone file; a name not in it does not exist (DNS is never asked)."""

    def __init__(self, records: dict[str, bytes]) -> None:
        self._records = records

    @classmethod
    def from_text(cls, text: str, where: str = "<zone>") -> ZoneFile:
        """Parse a master file; names without a trailing dot are taken from the root (or `$ORIGIN`)."""
        try:  # a default TTL, so files written without one (they are not served) still parse
            zone = dns.zone.from_text("$TTL 300\n" + text, origin=dns.name.root, relativize=False,
                                      check_origin=False, filename=where)
        except dns.exception.DNSException as exc:  # "file:N: ..." counts the $TTL line we added
            message = re.sub(r":(\d+):", lambda m: f":{int(m.group(1)) - 1}:", str(exc), count=1)
            raise ValueError(f"not a zone file: {message}") from None
        records = {}
        for name, node in zone.nodes.items():
            rdataset = node.get_rdataset(zone.rdclass, dns.rdatatype.TXT)
            if rdataset:
                records[_key(name.to_text())] = b"".join(next(iter(rdataset)).strings)
        return cls(records)

    @classmethod
    def from_file(cls, path: Path) -> ZoneFile:
        try:
            return cls.from_text(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from None

    def txt(self, name: str) -> bytes | None:
        return self._records.get(_key(name))


def _key(name: str) -> str:
    return name.lower().rstrip(".")
