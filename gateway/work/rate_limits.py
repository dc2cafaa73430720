"""The rate limits' shell: load what was sent lately for a batch, store what the batch sends.

gateway.outbound.limits decides (pure); this module is its I/O. The lookup
runs in its own short read transaction before the batch is planned, for just
the recipients, domains and incidents the batch's mails can cause automatic
letters to (the writers, the incidents' last writers). The rows of letters that
go out are inserted in the batch's write transaction, with one index-range
DELETE of the rows no limit counts any more: SQLite's write lock is held for a
few more statements, no more. Several daemons on one PostgreSQL each count
what is committed, so a flood split between them can get a few letters more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, Table, and_, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App
from gateway.core.model import Decision
from gateway.outbound.limits import DAY, HOUR, Ledger, SentLetter, domain_of
from parsers import ParsedMail
from store.automatic_letters import AutomaticLetter

_CHUNK = 500  # values per IN list


class Decided(Protocol):
    """One prepared mail of a batch (gateway.work.processor.Prepared)."""

    @property
    def mail(self) -> ParsedMail | None: ...
    @property
    def decision(self) -> Decision | None: ...


def recent_letters(app: App, readers: sessionmaker[Session], batch: Sequence[Decided], now: datetime) -> Ledger:
    """A Ledger holding the automatic letters sent lately to anyone the batch's mails may write to."""
    ledger = Ledger(app.settings.limits, now)
    recipients, numbers = _candidates(batch)
    if not app.settings.limits.enabled or not (recipients or numbers):
        return ledger
    table: Table = AutomaticLetter.__table__  # type: ignore[assignment]
    longest = max((span for span, _ in ledger.windows), default=timedelta(0))
    seen: dict[int, SentLetter] = {}
    with readers() as session:
        for condition in _conditions(table, now, longest, recipients, numbers):
            for row in session.execute(select(table).where(condition)):
                seen[row.id] = SentLetter(row.recipient, row.domain, row.incident_number, row.kind, row.created_at)
    ledger.load(list(seen.values()))
    return ledger


def store_sent(app: App, session: Session, sent: list[SentLetter], now: datetime) -> None:
    """Insert the batch's automatic letters and delete the rows too old for any limit (caller's transaction)."""
    if not sent:
        return
    table = AutomaticLetter.__table__
    connection = session.connection()
    connection.execute(insert(table), [{"recipient": s.recipient, "domain": s.domain,
                                        "incident_number": s.incident_number, "kind": s.kind,
                                        "created_at": s.created_at} for s in sent])
    connection.execute(delete(table).where(table.c.created_at < now - app.settings.limits.retention))


def _candidates(batch: Sequence[Decided]) -> tuple[list[str], list[int]]:
    """Who the batch's mails may send automatic letters to: the writers and the incidents' last writers."""
    recipients: set[str] = set()
    numbers: set[int] = set()
    for item in batch:
        mail, decision = item.mail, item.decision
        if mail is None or decision is None:
            continue
        recipients.add(mail.from_addr.lower())
        for state in (decision.incident, decision.after):
            if state is not None:
                numbers.add(state.number)
                recipients.update(a.lower() for a in (state.last_customer_author, state.opened_by) if a)
    recipients.discard("")
    return sorted(recipients), sorted(numbers)


def _conditions(table: Table, now: datetime, longest: timedelta, recipients: list[str],
                numbers: list[int]) -> Iterable[ColumnElement[bool]]:
    """One WHERE per chunk of each key, each served by its (key, created_at) index, as far back as it counts."""
    c = table.c
    domains = sorted({domain_of(r) for r in recipients})
    for values, condition in (
        (recipients, lambda chunk: and_(c.recipient.in_(chunk), c.created_at >= now - longest)),
        (domains, lambda chunk: and_(c.domain.in_(chunk), c.created_at >= now - DAY, c.kind == codes.KIND_HELD)),
        (numbers, lambda chunk: and_(c.incident_number.in_(chunk), c.created_at >= now - HOUR)),
    ):
        for start in range(0, len(values), _CHUNK):
            yield condition(values[start:start + _CHUNK])
