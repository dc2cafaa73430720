"""The `Received:` trace header the gateway prepends to every mail it takes over SMTP or LMTP.

RFC 5321 §4.4: each server that takes a mail adds a time-stamp line at the top: who connected
(the name it gave in HELO/EHLO/LHLO, the name its address resolves back to, and the address),
who took it (our `[smtp] hostname`), how (RFC 3848: ESMTP, ESMTPS for a session after
STARTTLS, SMTP after plain HELO, LMTP), an id to find it in our log, the recipient when there
is exactly one (more would show each recipient the others, RFC 5321 §7.2), and when.

The header changes the bytes but not the mail's identity: the dedupe key (sha256) is taken
from the bytes as they arrived, so an SMTP retry of the same mail is still a no-op
(gateway.intake.ingest.Arrival.digest).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import socket
import weakref
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

# What may stand in the header for the name a client gave: a domain or an address literal.
_NOT_DOMAIN = re.compile(r"[^A-Za-z0-9.\-\[\]:_]")
REVERSE_LOOKUP_SECONDS = 2.0  # a slow DNS never holds a mail; the header then says "unknown"


@dataclass(frozen=True)
class Trace:
    """What one Received: line says about one SMTP/LMTP transaction."""

    helo: str | None
    ip: str | None  # None for a UNIX socket
    reverse_name: str | None  # forward-confirmed PTR name, or None
    by: str
    protocol: str  # ESMTP, ESMTPS, SMTP, LMTP, LMTPS (RFC 3848)
    recipients: tuple[str, ...]
    at: datetime
    id: str


def new_id() -> str:
    """The transaction's id in the header and in our log lines (12 hex digits)."""
    return secrets.token_hex(6)


def protocol_name(*, lmtp: bool, extended: bool, tls: bool) -> str:
    base = "LMTP" if lmtp else ("ESMTP" if extended else "SMTP")
    return base + ("S" if tls and base != "SMTP" else "")


def received_header(trace: Trace) -> bytes:
    """The header line, folded, ending with CRLF, ready to go in front of the raw mail."""
    helo = _NOT_DOMAIN.sub("", trace.helo or "")[:255] or "unknown"
    origin = f"from {helo}"
    if trace.ip:
        origin += f" ({trace.reverse_name or 'unknown'} [{trace.ip}])"
    for_clause = f"\r\n\tfor <{trace.recipients[0]}>" if len(trace.recipients) == 1 else ""
    text = (f"Received: {origin}\r\n\tby {trace.by} (support-gateway) with {trace.protocol} id {trace.id}"
            f"{for_clause}; {format_datetime(trace.at)}\r\n")
    return text.encode("utf-8")


async def reverse_name(ip: str) -> str | None:
    """The name `ip` resolves back to, if that name also resolves to `ip` (forward-confirmed), else None."""
    loop = asyncio.get_running_loop()
    try:
        name, _ = await loop.getnameinfo((ip, 0), socket.NI_NAMEREQD)
        addresses = await loop.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    return name if any(info[4][0] == ip for info in addresses) else None


class ReverseNames:
    """One reverse lookup per client connection, started at its first accepted RCPT.

    The lookup runs while the client sends DATA; at the end of DATA the header takes the name
    if it is there within a moment, else says "unknown": DNS never delays a 250.
    """

    def __init__(self) -> None:
        self._lookups: weakref.WeakKeyDictionary[object, asyncio.Task[str | None]] = weakref.WeakKeyDictionary()

    def start(self, session: object, ip: str | None) -> None:
        if ip and session not in self._lookups:
            self._lookups[session] = asyncio.get_running_loop().create_task(_bounded(ip))

    async def name(self, session: object) -> str | None:
        lookup = self._lookups.get(session)
        if lookup is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(lookup), 0.2)
        except TimeoutError:
            return None


async def _bounded(ip: str) -> str | None:
    try:
        return await asyncio.wait_for(reverse_name(ip), REVERSE_LOOKUP_SECONDS)
    except TimeoutError:
        return None


def stamp(raw: bytearray, trace: Trace) -> str:
    """Put the Received: line in front of `raw` (in place: a 25 MB mail is not copied) and
    return the dedupe key of the bytes as they arrived."""
    digest = hashlib.sha256(raw).hexdigest()
    raw[0:0] = received_header(trace)
    return digest
