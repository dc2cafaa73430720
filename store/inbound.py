"""Inbound mail exactly as received: raw bytes, envelope, source, and what became of it.

The sha256 of the raw bytes is unique, so the same mail delivered twice (an
SMTP retry after a lost 250, an IMAP re-fetch after a crash) is one row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, UTCDateTime
from store.incidents import Incident


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(400))
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_tos: Mapped[list[str]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    # Indexed for the duplicate check (issue 11: the same sender's Message-ID within [mail] duplicate_window_days).
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    from_addr: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    # Header anomaly codes (gateway.codes: several-from-headers, sender-not-from...), None when there are none.
    anomalies: Mapped[list[str] | None] = mapped_column(JSON)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who really sent it (issue 10, [authentication]): the verdict as gateway.core.authenticity.as_record
    # writes it; NULL when authentication is off.
    authentication: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    incident: Mapped[Incident | None] = relationship()


class InboundRaw(Base):
    """The bytes of an inbound mail exactly as received, written once, never changed.

    Apart from InboundMessage because SQLite rewrites a whole row on every
    UPDATE: with the bytes in the row, each state change of a 25 MB mail copied
    25 MB (migration 0005). Stored by accept_raw() in the same transaction as
    the InboundMessage row.
    """

    __tablename__ = "inbound_raw"

    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # last: see store.blobs
