"""Leases: which node may do a thing that only one node at a time may do (issue 15).

A lease row per name (today: one per [[imap]] account, "imap:<account>") names its
holder and when the lease runs out. The holder renews it while it works; any other
node may take it once it has run out. A lease row, not a PostgreSQL advisory lock:
it works the same on SQLite, survives a pooled connection being recycled, and
`support-gateway status` can read who holds what and until when. The price is
that a dead holder is noticed only when its lease runs out, which bounds takeover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.base import Base, UTCDateTime


class Lease(Base):
    """Who holds a lease and until when; `taken_at` is when this holder took it over."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    taken_at: datetime
    renewed_at: datetime
    expires_at: datetime


def take_or_renew(session: Session, name: str, node: str, now: datetime, seconds: float) -> bool:
    """Hold the lease `name` for `seconds` from now: True if `node` holds it afterwards.

    One statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE), so two nodes racing for a
    free or run-out lease cannot both win: the row lock lets one update, the other's WHERE
    then sees the new holder and updates nothing.
    """
    table = Lease.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    until = now + timedelta(seconds=seconds)
    insert = dialect.insert(table).values(name=name, holder=node, taken_at=now, renewed_at=now, expires_at=until)
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"holder": excluded.holder, "renewed_at": excluded.renewed_at, "expires_at": excluded.expires_at,
              # the takeover moment is kept while the same node renews
              "taken_at": case((table.c.holder == excluded.holder, table.c.taken_at), else_=excluded.taken_at)},
        where=(table.c.holder == excluded.holder) | (table.c.expires_at < excluded.renewed_at),
    ).returning(table.c.holder)
    return session.connection().execute(statement).scalar_one_or_none() == node


def release(session: Session, name: str, node: str) -> None:
    """Give the lease up at once (a clean stop), so a standby node need not wait for it to run out."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == node))


def all_leases(session: Session) -> list[LeaseState]:
    return [LeaseState(row.name, row.holder, row.taken_at, row.renewed_at, row.expires_at)
            for row in session.scalars(select(Lease).order_by(Lease.name))]
