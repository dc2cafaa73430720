"""IMAP checkpoints: the exactly-once ledger and the per-mailbox health rows.

The ledger is keyed by (account, mailbox, UIDVALIDITY, UID): the only stable
address of an IMAP message (RFC 3501 §2.3.1.1; RFC 9051 §2.3.1.1). Sequence
numbers shift with every expunge and `\\Seen` belongs to the humans reading the
mailbox, so neither is ever used. A row is committed after accept_raw() and
before the message is moved or flagged: a crash in between leaves a row whose
message is still in the mailbox, and the next poll only finishes the move.

The sha256 and Message-ID columns let a rescan after a UIDVALIDITY change
recognise mail imported under the old UIDVALIDITY.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCDateTime

# What became of one IMAP message (stored verbatim, shown by `status`).
IMPORTED = "imported"        # accept_raw stored new bytes
DUPLICATE = "duplicate"      # same sha256 (accept_raw) or, after a UIDVALIDITY change, same Message-ID
OVERSIZE = "oversize"        # over smtp.max_message_size: header stored and quarantined
UNREADABLE = "unreadable"    # the server would not give us the message (FETCH failed)


class ImapLedgerEntry(Base):
    """One IMAP message the gateway has taken responsibility for."""

    __tablename__ = "imap_ledger"
    __table_args__ = (UniqueConstraint("account", "mailbox", "uidvalidity", "uid", name="uq_imap_ledger_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    mailbox: Mapped[str] = mapped_column(String(400))
    # UIDs and UIDVALIDITY are 32-bit unsigned (RFC 3501 §2.3.1.1): too big for a signed INTEGER.
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    attempts: Mapped[int]
    detail: Mapped[str | None] = mapped_column(Text)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImapMailboxHealth(Base):
    """Per mailbox: when it was last polled successfully, the last error, and running counts."""

    __tablename__ = "imap_mailboxes"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(400), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    unreadable: Mapped[int] = mapped_column(default=0)


def ledger_entries(session: Session, account: str, mailbox: str, uidvalidity: int,
                   uids: Iterable[int]) -> dict[int, ImapLedgerEntry]:
    """The ledger rows for these UIDs under this UIDVALIDITY, by UID."""
    wanted = list(uids)
    if not wanted:
        return {}
    rows = session.scalars(select(ImapLedgerEntry).where(
        ImapLedgerEntry.account == account, ImapLedgerEntry.mailbox == mailbox,
        ImapLedgerEntry.uidvalidity == uidvalidity, ImapLedgerEntry.uid.in_(wanted)))
    return {row.uid: row for row in rows}


def has_other_uidvalidity(session: Session, account: str, mailbox: str, uidvalidity: int) -> bool:
    """Was anything imported from this mailbox under an earlier UIDVALIDITY? Then this is a rescan."""
    return session.scalar(select(ImapLedgerEntry.id).where(
        ImapLedgerEntry.account == account, ImapLedgerEntry.mailbox == mailbox,
        ImapLedgerEntry.uidvalidity != uidvalidity).limit(1)) is not None


def imported_before(session: Session, account: str, mailbox: str, uidvalidity: int,
                    sha256: str, message_id: str | None) -> int | None:
    """The inbound id of the same mail imported under another UIDVALIDITY, by sha256 or Message-ID."""
    same = ImapLedgerEntry.sha256 == sha256
    if message_id:
        same = or_(same, ImapLedgerEntry.message_id == message_id)
    return session.scalar(select(ImapLedgerEntry.inbound_id).where(
        ImapLedgerEntry.account == account, ImapLedgerEntry.mailbox == mailbox,
        ImapLedgerEntry.uidvalidity != uidvalidity, ImapLedgerEntry.inbound_id.is_not(None), same,
    ).order_by(ImapLedgerEntry.id).limit(1))


def health_row(session: Session, account: str, mailbox: str) -> ImapMailboxHealth:
    """The health row of a mailbox, created on first use (in the caller's transaction)."""
    row = session.get(ImapMailboxHealth, (account, mailbox))
    if row is None:
        row = ImapMailboxHealth(account=account, mailbox=mailbox, consecutive_failures=0, imported=0,
                                duplicates=0, quarantined=0, unreadable=0)
        session.add(row)
    return row
