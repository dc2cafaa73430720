"""The outbox: every mail the gateway sends is a row here first (architecture.md: "send" = insert).

Rows are written in the same transaction as the state change that caused them;
only the sender talks SMTP outward, and retries live in `next_attempt_at` so a
restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, UTCDateTime


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # (incident, kind, rung, cycle) for scheduled notices: sent once across crashes and daemons.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    # The Message-ID a relay gave the mail when it rewrote ours (from its 250 reply): threading matches it too.
    relay_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    mail_from: Mapped[str] = mapped_column(String(320))
    rcpt_tos: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # RFC 6531 §3.4: the mail goes to a non-ASCII address, so only over SMTPUTF8 (its headers are
    # raw UTF-8, RFC 6532); the sender must not hand it to a relay that does not offer SMTPUTF8.
    needs_smtputf8: Mapped[bool] = mapped_column(default=False, server_default=false())
    state: Mapped[str] = mapped_column(String(16))
    # `node:pid:generation` of the work process that last claimed the row to send it
    # (gateway.outbound.claims): a dead claimant's rows are released at the next start, and a
    # sent row says which node sent it.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # By name, not by import: store.incidents refers to this module, and imports run one way (issue 9).
    incident: Mapped[Incident | None] = relationship("Incident")  # noqa: F821 - resolved by the registry
