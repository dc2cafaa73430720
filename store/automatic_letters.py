"""The rate limits' memory: one row per recipient of each automatic letter to the customer side.

An acknowledgement, a held-sender reply or the answer to a customer's
escalation is written here in the transaction that queues it, so the limits
(gateway.outbound.limits) can count what a recipient, an incident or a domain
got lately without reading the outbox's JSON recipient lists. Rows older than
the longest window are deleted as new ones come (gateway.work.rate_limits).
The incident is named by its number, known before the incident row exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UTCDateTime


class AutomaticLetter(Base):
    __tablename__ = "automatic_letters"
    __table_args__ = (
        Index("ix_automatic_letters_recipient_created_at", "recipient", "created_at"),
        Index("ix_automatic_letters_domain_created_at", "domain", "created_at"),
        Index("ix_automatic_letters_incident_number_created_at", "incident_number", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))  # lower-cased
    domain: Mapped[str] = mapped_column(String(320))  # lower-cased, the part after the last "@"
    incident_number: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(32))  # gateway.codes KIND_*
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
