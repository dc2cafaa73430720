"""The operator's repairs of received mail: retry a held mail saying why not when it cannot be, drop one.

A drop keeps the row and its raw bytes (nothing a person writes disappears silently): the
state becomes `dropped` with who decided it, so `inbound list` still shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from store.inbound import InboundMessage


@dataclass(frozen=True)
class Verdict:
    done: bool
    message: str


def retry_inbound(sessions: sessionmaker[Session], inbound_id: int) -> Verdict:
    """Queue a quarantined mail for processing again; say why it failed before, or why it cannot be retried."""
    with sessions.begin() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return Verdict(False, "no such inbound mail (see `support-gateway inbound list`)")
        if row.state != codes.QUARANTINED:
            why = {codes.RECEIVED: "it is waiting to be processed already",
                   codes.PROCESSED: f"it was processed ({row.reason or '-'}); it is not processed twice",
                   codes.IGNORED: f"it was ignored on purpose ({row.reason or '-'}), not held",
                   codes.DROPPED: "an operator dropped it"}.get(row.state, f"it is {row.state}")
            return Verdict(False, f"not retried: {why}")
        before = f"{row.reason or '-'}" + (f": {row.detail}" if row.detail else "")
        row.state, row.reason, row.detail, row.processed_at = codes.RECEIVED, None, None, None
        return Verdict(True, f"queued for processing again (it was quarantined: {before})")


def drop_inbound(sessions: sessionmaker[Session], inbound_id: int, now: datetime) -> Verdict:
    """Mark a quarantined or waiting mail as dropped by an operator: kept, never processed, nothing sent."""
    with sessions.begin() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return Verdict(False, "no such inbound mail (see `support-gateway inbound list`)")
        if row.state not in (codes.QUARANTINED, codes.IGNORED):
            return Verdict(False, f"not dropped: it is {row.state} ({row.reason or '-'}); only held or ignored "
                                  "mail can be dropped")
        before = f"{row.state} {row.reason or '-'}"
        row.state, row.reason, row.processed_at = codes.DROPPED, codes.OPERATOR_DROPPED, now
        row.detail = f"dropped by an operator (was {before})"
        return Verdict(True, f"dropped (was {before}); the mail is kept: `inbound show {inbound_id} --raw`")
