"""DKIM for tests: sign mail as the sender's MTA would, and publish the keys in a local zone file.

The zone file is what `[authentication] dns_zone_file` reads (gateway.work.txt_records.ZoneFile):
the DNS seam, and the only fake in these tests. Keys are throw-away ones (tests/support/dkim/).
"""

from __future__ import annotations

from pathlib import Path

import dkim

KEYS = Path(__file__).resolve().parent / "dkim"
SELECTOR = "s2026"


def private_key(key: str = "a") -> bytes:
    return (KEYS / f"test-key-{key}.pem").read_bytes()


def public_key(key: str = "a") -> str:
    return (KEYS / f"test-key-{key}.pub").read_text(encoding="ascii").strip()


def zone_text(domains: dict[str, str]) -> str:
    """A zone publishing, per domain, the named key at SELECTOR, split in strings as opendkim-genkey does."""
    lines = []
    for domain, key in domains.items():
        p = public_key(key)
        lines += [f"$ORIGIN {domain}.", f'{SELECTOR}._domainkey IN TXT ( "v=DKIM1; k=rsa; "',
                  f'    "p={p[:200]}"', f'    "{p[200:]}" )  ; ----- DKIM key {SELECTOR} for {domain}']
    return "\n".join(lines) + "\n"


def write_zone(path: Path, domains: dict[str, str]) -> Path:
    path.write_text(zone_text(domains), encoding="utf-8")
    return path


def signed(raw: bytes, domain: str, key: str = "a", selector: str = SELECTOR) -> bytes:
    """The mail with a DKIM-Signature of `domain` on top (relaxed/simple, rsa-sha256)."""
    return dkim.sign(raw, selector.encode(), domain.encode(), private_key(key)) + raw
