"""Incidents, the messages in them, their attachments and their append-only event log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, UTCDateTime

if TYPE_CHECKING:
    from store.outbox import OutboxMessage


def incident_ref(number: int) -> str:
    """The number customers and engineers see: INC-000001."""
    return f"INC-{number:06d}"


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    severity: Mapped[int]
    requested_severity: Mapped[int | None]
    cues: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    side: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(320))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The scheduler's wake-up time (SLA issue); indexed so a tick reads only what is due.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    assignee: Mapped[str | None] = mapped_column(String(200))  # `#assign NAME`
    resolution: Mapped[str | None] = mapped_column(String(32))  # support-programs.md §6 reason
    # A recurrence of a resolved incident, or a problem split off another one (§1).
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)

    # Relationships let one flush write a whole batch of incidents with their rows.
    events: Mapped[list[IncidentEvent]] = relationship(order_by="IncidentEvent.id")
    messages: Mapped[list[IncidentMessage]] = relationship(order_by="IncidentMessage.id")

    @property
    def ref(self) -> str:
        return incident_ref(self.number)


class IncidentMessage(Base):
    """One mail in an incident's conversation.

    direction: "in" (from the customer), "out" (to the customer), "engineer"
    (an engineer's reply as received), "notify" (to the engineers' queue),
    "internal" (to an engineer only, e.g. a command error).
    """

    __tablename__ = "incident_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # see the class docstring
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    author: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    attachments: Mapped[list[MessageAttachment]] = relationship(order_by="MessageAttachment.id")
    outbox: Mapped[OutboxMessage | None] = relationship()


class AttachmentBlob(Base):
    """Attachment content, addressed by its sha256: the same file sent twice is stored once."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # last: see store.blobs


class MessageAttachment(Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_message_id: Mapped[int] = mapped_column(
        ForeignKey("incident_messages.id"), index=True
    )
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment_blobs.sha256"))
    filename: Mapped[str | None] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    inline: Mapped[bool] = mapped_column(Boolean)


class IncidentEvent(Base):
    """Append-only history of an incident: the SLA clock is a function of these rows."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_id_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Counter(Base):
    """Gap-free sequences (incident numbers), incremented under the row lock."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int]
