"""`support-gateway status`: which node holds each mailbox's lease (issue 15)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from store.leases import all_leases


def mailbox_holders(sessions: sessionmaker[Session], now: datetime) -> list[dict[str, Any]]:
    """One object per lease: which node holds it, since when, until when, and whether it ran out."""
    with sessions() as session:
        leases = all_leases(session)
    return [{"name": lease.name, "holder": lease.holder, "taken_at": lease.taken_at.isoformat(),
             "expires_at": lease.expires_at.isoformat(), "expired": lease.expires_at < now} for lease in leases]


def holder_line(row: dict[str, Any]) -> str:
    """The text of one lease for a person; a lease that ran out may mean its node is dead."""
    state = "ran out (holder gone?)" if row["expired"] else f"until {row['expires_at']}"
    return f"lease {row['name']}: held by node {row['holder']} since {row['taken_at']}, {state}"


def mailbox_holder_lines(sessions: sessionmaker[Session], now: datetime) -> list[str]:
    """The lines `status` prints for the leases."""
    return [holder_line(row) for row in mailbox_holders(sessions, now)]
