"""What the SLA clock's minutes mean for people: late answers recorded, letters held for a working day. Pure.

Issue 14 (support-programs.md §2–§4). gateway.core.sla computes the minutes;
this module answers two questions the shell asks about them:

- `late_response`: a first response met after its target is *answered late*
  (met_at, late_by), not "never answered"; the shell writes the record once.
- `send_time`: a reminder or a timeout close that falls on a non-working day of
  the plan's calendar is sent at the next working-day opening; the state change
  itself happens on time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.core.business_time import window
from gateway.core.plan import Plan
from gateway.core.sla import evaluate
from gateway.core.sla_model import LATE_KEY, REMINDER, TIMEOUT, ClockEvent, Due

_SEARCH_DAYS = 60  # the longest closure of any calendar is far shorter


def late_response(events: Sequence[ClockEvent], plan: Plan) -> dict[str, object] | None:
    """The record of a first response met after its target, if one is owed and not yet written.

    Issue 14: an answer at 16:30 for a 16:00 target is *answered late* (met_at
    16:30, late_by 30 min), not "never answered"; reports and `incidents show`
    read this event. None when the response is not met, was on time, or the
    record exists (its key, LATE_KEY, is in the log).
    """
    view = evaluate(events, plan, events[-1].at)
    met, due = view.response_met_at, view.response_due
    if met is None or due is None or met <= due:
        return None
    if any(event.data.get("key") == LATE_KEY for event in events):
        return None
    return {"due": due.isoformat(), "met_at": met.isoformat(), "late_by": int((met - due).total_seconds()),
            "breached": True, "key": LATE_KEY}


HELD_FOR_WORKING_DAY = (REMINDER, TIMEOUT)


def send_time(plan: Plan, item: Due) -> datetime | None:
    """When a reminder or timeout letter that falls on a non-working day goes out: the next opening.

    Issue 14: nobody wants "your incident is closed" on New Year's Day. The
    state change happens on time (the clock is the contract); the letter waits
    for the plan calendar's next working-day opening. None: send at once.
    """
    if item.kind not in HELD_FOR_WORKING_DAY:
        return None
    calendar = plan.calendar
    day = item.at.astimezone(ZoneInfo(calendar.timezone)).date()
    if window(calendar, day) is not None:
        return None
    for _ in range(_SEARCH_DAYS):
        day += timedelta(days=1)
        hours = window(calendar, day)
        if hours is not None:
            return hours[0]
    return None
