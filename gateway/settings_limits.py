"""`[limits]`: how many automatic letters the customer side may get (issue 10 item 9).

Zammad's loop protection is the model (its settings
`ticket_trigger_loop_protection_articles_per_ticket`: 10 in 10 minutes, 15 in
30, 25 in an hour, 50 in 3 hours, 100 in 10 hours). Here the graded windows
count per recipient across all incidents, with a cap per incident per hour and,
for the polite replies to unknown senders (backscatter), a cap per domain per
day. Only letters the gateway sends by itself because mail arrived are
limited; what a person wrote (a relayed answer) and mail to the vendor's own
addresses never are (gateway.outbound.limits).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from gateway.core.plan import Duration
from gateway.settings_sections import Section

LONGEST_WINDOW = timedelta(days=7)
# Zammad's per-ticket defaults, counted here per recipient (see the module docstring).
_GRADED = {"10m": 10, "30m": 15, "1h": 25, "3h": 50, "10h": 100}


def window(text: str) -> timedelta:
    """A window written like a plan duration ("10m", "1h", "10h", "1d"); months are refused."""
    duration = Duration.parse(text)
    span = timedelta(days=duration.days, hours=duration.hours, minutes=duration.minutes)
    if duration.months or not span or span > LONGEST_WINDOW:
        raise ValueError(f"{text!r}: use a window from 1m to 7d, e.g. 10m, 1h or 1d")
    return span


class LimitsSection(Section):
    """Over a limit the mail is still stored and processed; only the automatic letter is not sent."""

    enabled: bool = True
    # window → most automatic letters one recipient gets in any such window
    per_recipient: dict[str, int] = Field(default_factory=lambda: dict(_GRADED))
    per_incident_per_hour: int = Field(default=10, ge=1)
    held_replies_per_domain_per_day: int = Field(default=10, ge=1)

    @field_validator("per_recipient")
    @classmethod
    def _windows(cls, value: dict[str, int]) -> dict[str, int]:
        for text, count in value.items():
            window(text)
            if count < 1:
                raise ValueError(f"{text!r}: the count must be at least 1, not {count}")
        return value

    @property
    def recipient_windows(self) -> tuple[tuple[timedelta, int], ...]:
        """(window, count) pairs, shortest window first."""
        return tuple(sorted((window(text), count) for text, count in self.per_recipient.items()))

    @property
    def retention(self) -> timedelta:
        """How long a sent letter can still count: the longest window of any limit."""
        return max([timedelta(days=1), *(span for span, _ in self.recipient_windows)])
