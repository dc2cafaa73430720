"""`support-gateway status`: which node holds each mailbox's lease (issue 15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from store.leases import all_leases


def mailbox_holder_lines(sessions: sessionmaker[Session], now: datetime) -> list[str]:
    """One line per lease: holder, since when, and whether it has run out (its node may be dead)."""
    with sessions() as session:
        leases = all_leases(session)
    lines = []
    for lease in leases:
        state = "ran out (holder gone?)" if lease.expires_at < now else f"until {lease.expires_at.isoformat()}"
        lines.append(f"lease {lease.name}: held by node {lease.holder} since {lease.taken_at.isoformat()}, {state}")
    return lines
