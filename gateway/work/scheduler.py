"""The scheduler: wake for the earliest `incidents.next_due_at`, do what the SLA clock says is due.

architecture.md: the clock (gateway.core.sla) is pure; this is its shell. A tick
selects the incidents whose next due time has passed (an index range scan: the
cost grows with the number due, not the number open), reads their events in one
query, evaluates the clock, and in the same transaction writes what is due —
outbox rows keyed (incident, kind, rung, cycle) in `outbox.dedupe_key`, events
that record each action (with the same key, so the clock sees it done),
downgrade and timeout state changes — and stores each incident's next due
time. Rows are locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's writer
lock serialises), so several daemons never do the same thing twice, and a
crash before the commit leaves everything to do again.

`reschedule` is called by the processor whenever an incident's events change
(new incident, side flip, severity change, resolution), so `next_due_at` is
always the clock's answer for the current log.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only, sessionmaker

from gateway.app import App
from gateway.clock import Clock
from gateway.core import sla
from gateway.core.model import CLOSED, IncidentState
from gateway.core.plan import Plan
from gateway.core.sla import ClockEvent, Due, SlaView, evaluate
from gateway.core.sla_people import late_response, send_time
from gateway.core.status_prompt import earliest
from gateway.outbound.compose import write
from gateway.outbound.engineer_thread import thread_root
from gateway.outbound.letter import Letter
from gateway.outbound.notices import QUEUE_COPIED, for_due, queue_copy
from gateway.outbound.status_letters import due_prompt_letter, prompt_wake_at
from gateway.work.scheduled_rows import ScheduledRows, collector_paused
from gateway.work.threads import incident_states
from store.incidents import Incident, IncidentEvent
from store.rows import NewEvent, NewIncident

log = logging.getLogger(__name__)

# Incidents handled per tick, in one transaction; the rest wait for the next tick, which the
# work loop runs at once, after giving received mail its turn. A due incident costs ~5-10 ms
# (bench/sla.py); on SQLite the transaction holds the write lock the SMTP intake waits for, so
# 1,000 at once (Monday 09:00: every open incident's status report) would stall it for seconds.
TICK_LIMIT = 50
_STATE_CHUNK = 100  # gateway.work.threads.incident_states reads at most 100 at a time


def clock_events(rows: Iterable[IncidentEvent | NewEvent]) -> list[ClockEvent]:
    return [ClockEvent(row.at, row.type, row.data) for row in rows]


def wake_at(view: SlaView) -> datetime | None:
    """When the scheduler must look at the incident again: the earliest due or upcoming item."""
    return min([d.at for d in view.due] + [d.at for d in view.upcoming], default=None)


def reschedule(app: App, incident: Incident | NewIncident, customer_key: str, now: datetime) -> None:
    """Store the clock's next due time for an incident whose events just changed (loaded or new).

    A first response that just came after its target is recorded here, at once
    and whatever the status (an answer that also resolves is still late).
    """
    if not incident.events:
        incident.next_due_at = None
        return
    plan = app.plan_for(incident.plan, customer_key)
    if isinstance(incident, Incident):
        record_late_response(incident, plan)
    if incident.status != sla.OPEN:
        incident.next_due_at = None
        return
    log_ = clock_events(incident.events)
    view = evaluate(log_, plan, now)
    incident.next_due_at = earliest(wake_at(view), prompt_wake_at(app, incident.assignee, view, log_))


def record_late_response(incident: Incident, plan: Plan) -> None:
    """Issue 14: a response met after its target gets a `response` event with met_at and late_by."""
    events = clock_events(incident.events)
    late = late_response(events, plan)
    if late is not None:
        met_at = datetime.fromisoformat(str(late["met_at"]))
        incident.events.append(IncidentEvent(incident_id=incident.id, at=met_at, type="response", data=late))


def next_wakeup(sessions: sessionmaker[Session]) -> datetime | None:
    """The earliest due time of any incident (the scheduler sleeps until then)."""
    with sessions() as session:
        return session.scalar(select(func.min(Incident.next_due_at)))


# What finding and scheduling read of a due incident; incident_states' query fills in the rest of the
# very same objects (the identity map), so no column is read twice and none lazily.
_DUE_COLUMNS = (Incident.id, Incident.number, Incident.customer_id, Incident.plan, Incident.status,
                Incident.next_due_at)


def find_due(session: Session, now: datetime, limit: int = TICK_LIMIT) -> list[Incident]:
    """The incidents due by `now`, earliest first, locked for this transaction.

    Only the columns the tick needs first are read (issue 14: the four other
    timestamps and the JSON cues were most of the CPU of finding 1,000 among 1,000,000).
    """
    return list(session.scalars(
        select(Incident).options(load_only(*_DUE_COLUMNS)).where(Incident.next_due_at <= now)
        .order_by(Incident.next_due_at).limit(limit).with_for_update(skip_locked=True)))


def tick(app: App, sessions: sessionmaker[Session], clock: Clock, limit: int = TICK_LIMIT,
         readers: sessionmaker[Session] | None = None) -> int:
    """One scheduler pass in one transaction; return how many incidents were due.

    `readers` (default: `sessions`) answers "is anything due?" first, so a tick
    with nothing to do never opens a write transaction: on SQLite the writers'
    transactions begin IMMEDIATE and would take the write lock the SMTP intake
    is waiting for.
    """
    now = clock.now()
    due = next_wakeup(readers or sessions)
    if due is None or due > now:  # nothing due: no write transaction, no write lock taken
        return 0
    with sessions.begin() as session:
        incidents = find_due(session, now, limit)
        if incidents:
            process_due(app, session, incidents, now)
    return len(incidents)


def process_due(app: App, session: Session, incidents: Sequence[Incident], now: datetime) -> None:
    """Evaluate each due incident's clock and write what is due, in the caller's transaction."""
    with collector_paused():
        _process_due(app, session, incidents, now)


def _process_due(app: App, session: Session, incidents: Sequence[Incident], now: datetime) -> None:
    events: dict[int, list[ClockEvent]] = defaultdict(list)
    for incident_id, at, type_, data in session.execute(  # plain rows: the clock needs no ORM objects
            select(IncidentEvent.incident_id, IncidentEvent.at, IncidentEvent.type, IncidentEvent.data)
            .where(IncidentEvent.incident_id.in_([i.id for i in incidents]))
            .order_by(IncidentEvent.incident_id, IncidentEvent.id)):
        events[incident_id].append(ClockEvent(at, type_, data))
    numbers = [i.number for i in incidents]
    logs = {incident_id: list(rows) for incident_id, rows in events.items()}
    states: dict[int, IncidentState] = {}
    for start in range(0, len(numbers), _STATE_CHUNK):
        states.update(incident_states(session, numbers[start:start + _STATE_CHUNK], logs))
    rows = ScheduledRows()
    try:  # the fast path: every incident's rows in a few statements (issue 14: 1,000 due notices in a second)
        with session.begin_nested(), session.no_autoflush:
            for incident in incidents:
                _run(app, session, rows, incident, states[incident.number], list(events[incident.id]), now)
            rows.write(session)
        return
    except Exception:  # noqa: BLE001 - one incident failed: redo them one by one to find and skip it
        log.warning("scheduled work for %d incidents failed together; retrying one by one", len(incidents))
    for incident in incidents:
        rows = ScheduledRows()
        try:
            with session.begin_nested():
                _run(app, session, rows, incident, states[incident.number], list(events[incident.id]), now)
                rows.write(session)
        except Exception:  # noqa: BLE001 - one broken incident must not stop the others
            session.expire(incident)  # as stored: its rolled-back next due time was set as stored (set_next_due)
            log.exception("%s: scheduled work failed; retried at the next tick", incident.ref)


def _run(app: App, session: Session, rows: ScheduledRows, incident: Incident, state: IncidentState,
         log_: list[ClockEvent], now: datetime) -> None:
    plan = app.plan_for(incident.plan, state.customer_key)
    if not log_ or incident.status != sla.OPEN:
        rows.set_next_due(incident, None)
        return
    view = evaluate(log_, plan, now)
    for item in view.due:
        state = _do(app, session, rows, incident, state, plan, view, item, log_, now)
    view = evaluate(log_, plan, now) if incident.status == sla.OPEN else None
    if view is not None and (prompt := due_prompt_letter(app, state, plan, view, log_)) is not None:
        _letter(app, rows, incident, log_, now, prompt)  # issue 14: ask for the next report's #status text
    rows.set_next_due(incident, earliest(wake_at(view), prompt_wake_at(app, state.assignee, view, log_))
                      if view else None)


def _do(app: App, session: Session, rows: ScheduledRows, incident: Incident, state: IncidentState, plan: Plan,
        view: SlaView, item: Due, log_: list[ClockEvent], now: datetime) -> IncidentState:
    """Write one due item: the change it makes, then the letter it causes; return the incident as it now is.

    Which letter is gateway.outbound.notices' answer; this function records the
    item (events carry its key, so the clock sees it done) and the state it changes.
    """
    key = item.key(incident.ref)
    since = _customer_since(log_)
    letter = for_due(app, state, plan, item, view, key, customer_side_since=since, last_activity=_last(log_),
                     now=now)
    state = _change(rows, incident, state, item, log_, now)
    if letter is not None:
        _letter(app, rows, incident, log_, now, letter, send_time(plan, item))
        _tell_queue(app, session, rows, incident, state, plan, item, key, letter, log_, now)
    elif item.kind == sla.ESCALATION:  # nobody to tell: recorded, so the rung counts as reached
        _event(rows, incident, log_, now, "escalation", {"rung": item.rung, "to": [], "key": item.short_key})
    return state


def _tell_queue(app: App, session: Session, rows: ScheduledRows, incident: Incident, state: IncidentState,
                plan: Plan, item: Due, key: str, letter: Letter, log_: list[ClockEvent], now: datetime) -> None:
    """Issue 14: the engineers' queue sees each automatic change the clock made, threaded to its own mail.

    The thread is named by its root (issue 11, gateway.outbound.engineer_thread), as every
    engineer letter does: derived from the incident number, so no query per incident.
    """
    if item.kind not in QUEUE_COPIED:
        return
    copy = queue_copy(app, state, plan, item, key, letter, (thread_root(app, incident.number),))
    if copy is not None:
        _letter(app, rows, incident, log_, now, copy)


def _change(rows: ScheduledRows, incident: Incident, state: IncidentState, item: Due, log_: list[ClockEvent],
            now: datetime) -> IncidentState:
    """What a due item changes by itself: a missed response is recorded, a downgrade or timeout applied."""
    if item.kind == sla.RESPONSE:
        _event(rows, incident, log_, now, "response", {
            "due": item.at.isoformat(), "met_at": None, "breached": True, "key": item.short_key})
    elif item.kind == sla.DOWNGRADE:
        level = int(item.rung)
        _event(rows, incident, log_, now, "severity", {
            "from": state.severity, "to": level, "reason": sla.DOWNGRADE_REASON, "by": "clock",
            "key": item.short_key})
        incident.severity, incident.updated_at = level, now
        return replace(state, severity=level)
    elif item.kind == sla.TIMEOUT:
        _event(rows, incident, log_, now, "status", {
            "status": CLOSED, "reason": "timeout", "by": "clock", "key": item.short_key})
        incident.status, incident.closed_at, incident.updated_at = CLOSED, now, now
        return replace(state, status=CLOSED)
    return state


def _event(rows: ScheduledRows, incident: Incident, log_: list[ClockEvent], now: datetime, type_: str,
           data: dict[str, Any]) -> None:
    rows.events.append(NewEvent(at=now, type=type_, data=data, incident_id=incident.id))
    log_.append(ClockEvent(now, type_, data))


def _letter(app: App, rows: ScheduledRows, incident: Incident, log_: list[ClockEvent], now: datetime,
            letter: Letter, send_at: datetime | None = None) -> None:
    """Collect the letter's rows; `send_at` (a non-working day's letter, sla_people.send_time) dates and holds it."""
    copies = write(app, letter, send_at or now)
    first = copies[0].event
    assert first is not None  # scheduled letters are always logged: the clock reads them
    if send_at is not None:
        first.at, first.data = now, {**first.data, "held_until": send_at.isoformat()}
    for written in copies:
        written.outbox.incident_id = written.message.incident_id = incident.id
        written.message.created_at = now
        rows.outbox.append(written.outbox)
        rows.messages.append(written.message)
    first.incident_id = incident.id
    rows.events.append(first)
    log_.append(ClockEvent(now, "notice", first.data))
    log.info("%s: %s to %s", incident.ref, letter.kind, ", ".join(letter.to))


def _customer_since(log_: list[ClockEvent]) -> datetime | None:
    """When the current customer-side stretch began."""
    since = None
    for event in log_:
        if event.type == "side":
            since = event.at if event.data.get("side") == sla.CUSTOMER else None
    return since


def _last(log_: list[ClockEvent]) -> datetime:
    return max((e.at for e in log_ if e.type in ("message", "opened")), default=log_[0].at)

