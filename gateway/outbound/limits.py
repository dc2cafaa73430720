"""Rate limits on automatic letters (issue 10 item 9): which of them go out, and why not.

40 mails from one contact in a minute must not become 40 acknowledgements: a
loop with another robot, or a person's script, would otherwise be answered
without end. Limited are the letters the gateway writes by itself because mail
arrived, to the customer side (LIMITED_KINDS: acknowledgements, held-sender
replies, answers to a customer's #escalate). Never limited: what a person wrote
(an engineer's relayed answer and what their commands send), the SLA clock's
scheduled notices, and every letter to the vendor's own addresses (queue,
engineers, escalation recipients) — those are how a person learns of the
flood. Zammad's loop protection is the model for the graded windows
(gateway.settings_limits); unlike Zammad, which only logs, a letter not sent is
said in the engineers' notice and recorded on the incident.

Pure: the shell (gateway.work.rate_limits) loads the letters sent lately into
a Ledger; the letters decided for a batch are added to it as they are planned,
so the batch's own letters count too.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from gateway import codes
from gateway.outbound.letter import Letter, OverLimit
from gateway.settings import LimitsSection

LIMITED_KINDS = frozenset({codes.KIND_ACK, codes.KIND_HELD, codes.KIND_ESCALATE_ACK, codes.KIND_ESCALATE_REFUSED})
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class SentLetter:
    """One automatic letter to one recipient, as the limits count it (a row of automatic_letters)."""

    recipient: str
    domain: str
    incident_number: int | None
    kind: str
    created_at: datetime


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class Ledger:
    """The automatic letters sent lately, counted per recipient, incident and (held replies) domain.

    `record` adds a letter as it is planned; the processor `settle`s them once
    the mail's rows are built (the rows to store) or `discard`s them when the
    mail is quarantined instead.
    """

    limits: LimitsSection
    now: datetime
    _recipients: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    _incidents: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    _domains: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    _pending: list[SentLetter] = field(default_factory=list)
    windows: tuple[tuple[timedelta, int], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.windows = self.limits.recipient_windows

    def load(self, rows: list[SentLetter]) -> None:
        """Add stored rows, in any order: every list is kept sorted, so a window is one bisect."""
        for row in rows:
            self._count(row)

    def record(self, letter: Letter) -> None:
        """A letter is being written: count it from now on (a letter of no limited kind is ignored)."""
        if not self.limits.enabled or letter.kind not in LIMITED_KINDS:
            return
        for to in letter.to:
            row = SentLetter(to.lower(), domain_of(to), letter.number, letter.kind, self.now)
            self._pending.append(row)
            self._count(row)

    def settle(self) -> list[SentLetter]:
        """The letters recorded since the last settle/discard: the rows to store with the mail's outcome."""
        settled, self._pending = self._pending, []
        return settled

    def discard(self) -> None:
        """The mail's rows were not built: its letters are not going out and stop counting."""
        for row in self._pending:
            for times in self._lists(row):
                times.remove(row.created_at)
        self._pending = []

    def over_limit(self, letter: Letter) -> OverLimit | None:
        """The first limit the letter would break, or None if it may go out."""
        if not self.limits.enabled or letter.kind not in LIMITED_KINDS:
            return None
        for to in letter.to:
            address = to.lower()
            for span, count in self.windows:
                if self._since(self._recipients.get(address), span) >= count:
                    return OverLimit(letter.kind, to, count, span, "recipient", address)
            if letter.kind == codes.KIND_HELD:
                domain, count = domain_of(to), self.limits.held_replies_per_domain_per_day
                if self._since(self._domains.get(domain), DAY) >= count:
                    return OverLimit(letter.kind, to, count, DAY, "domain", domain)
        count = self.limits.per_incident_per_hour
        if letter.number is not None and self._since(self._incidents.get(letter.number), HOUR) >= count:
            return OverLimit(letter.kind, letter.to[0], count, HOUR, "incident", f"INC-{letter.number:06d}")
        return None

    def checked(self, letter: Letter) -> Letter:
        """The letter, marked `not_sent` with the reason when it is over a limit."""
        over = self.over_limit(letter)
        return letter if over is None else replace(letter, not_sent=over)

    def _since(self, times: list[datetime] | None, span: timedelta) -> int:
        return len(times) - bisect.bisect_left(times, self.now - span) if times else 0

    def _count(self, row: SentLetter) -> None:
        for times in self._lists(row):
            bisect.insort(times, row.created_at)

    def _lists(self, row: SentLetter) -> list[list[datetime]]:
        lists = [self._recipients[row.recipient]]
        if row.incident_number is not None:
            lists.append(self._incidents[row.incident_number])
        if row.kind == codes.KIND_HELD:
            lists.append(self._domains[row.domain])
        return lists
