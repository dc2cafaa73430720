"""Addresses our mail bounced from, and whether automatic mail to them has stopped (issue 13)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCDateTime


class BouncedAddress(Base):
    """One address that bounced our mail: counts, the last reason, and when automatic mail to it stopped.

    `suppressed_at` is set when `hard_bounces` reaches the `[mail] hard_bounce_limit`; the
    sender then leaves automatic letters to it unsent (outbox state `suppressed`).
    """

    __tablename__ = "bounced_addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    hard_bounces: Mapped[int]
    soft_bounces: Mapped[int]
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_diagnostic: Mapped[str | None] = mapped_column(Text)
    last_bounced_at: Mapped[datetime] = mapped_column(UTCDateTime())
    suppressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def hard_bounce_counts(session: Session, addresses: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(addresses))[:100]
    if not wanted:
        return {}
    rows = session.execute(select(BouncedAddress.address, BouncedAddress.hard_bounces)
                           .where(BouncedAddress.address.in_(wanted)))
    return {address: count for address, count in rows}


def record_bounce(session: Session, address: str, *, hard: bool, status: str | None, diagnostic: str | None,
                  now: datetime, limit: int) -> BouncedAddress:
    """Count one bounce of `address`; at `limit` hard bounces automatic mail to it stops."""
    pending: dict[str, BouncedAddress] = session.info.setdefault("bounced_addresses", {})
    row = pending.get(address) or session.get(BouncedAddress, address, with_for_update=True)
    if row is None:  # remembered in the session: a second bounce in the same batch finds it unflushed
        row = BouncedAddress(address=address, hard_bounces=0, soft_bounces=0, last_bounced_at=now)
        session.add(row)
    pending[address] = row
    if hard:
        row.hard_bounces += 1
    else:
        row.soft_bounces += 1
    row.last_status, row.last_diagnostic, row.last_bounced_at = status, (diagnostic or None), now
    if row.hard_bounces >= limit and row.suppressed_at is None:
        row.suppressed_at = now
    return row


def suppressed_among(session: Session, addresses: Iterable[str]) -> set[str]:
    """Which of `addresses` automatic mail no longer goes to."""
    wanted = sorted({a.lower() for a in addresses})
    if not wanted:
        return set()
    return set(session.scalars(select(BouncedAddress.address).where(
        BouncedAddress.address.in_(wanted), BouncedAddress.suppressed_at.is_not(None))))


def resume_mail(session: Session, address: str) -> BouncedAddress | None:
    """Forget an address's bounces, so automatic mail to it starts again (its mailbox was repaired).

    The row goes, not just `suppressed_at`: counting starts again from zero, as it would for a new
    address; the bounces themselves stay recorded on the letters and in the incidents' threads.
    """
    row = (session.get(BouncedAddress, address, with_for_update=True)
           or session.get(BouncedAddress, address.lower(), with_for_update=True))
    if row is not None:
        session.delete(row)
    return row


def mark_letter_bounced(session: Session, message_id: str, detail: str) -> None:
    """The outbox row of the letter a bounce returned: state `bounced`, the bounce's words in last_error."""
    from sqlalchemy import or_, update

    from store.outbox import OutboxMessage

    session.execute(update(OutboxMessage)
                    .where(or_(OutboxMessage.message_id == message_id, OutboxMessage.relay_message_id == message_id))
                    .values(state="bounced", last_error=detail[:4000]))
