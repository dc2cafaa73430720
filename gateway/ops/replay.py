"""`support-gateway replay`: play recorded mail through the daemon's own code on a simulated clock.

Each mail arrives at the time in its Date: header (ties in file-name order);
between mails the SLA scheduler wakes at every due time, exactly as the daemon
would. The store is a throw-away SQLite file, nothing is sent (outbox rows stay
queued in the temporary store), and engineers are recognised by their From
address alone (recorded mail carries another gateway's reply tokens). The
output is the incident timeline in time order, derived from the event log and
the SLA clock, so two runs over the same mail print the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import mailbox
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.app import App, build_app
from gateway.clock import FixedClock
from gateway.core.model import Envelope
from gateway.core.sla import ClockEvent, evaluate
from gateway.ops.cli_common import json_line
from gateway.work.directory import sync_customers
from gateway.intake.imap_mail import UNKNOWN_SENDER
from gateway.intake.ingest import accept_raw
from gateway.work.processor import process_pending
from gateway.ops.replay_review import review_entries, review_moments
from gateway.work.periodic import queue_periodic_reports
from gateway.work.scheduler import next_wakeup, tick
from gateway.settings import DatabaseSection, Settings, TokensSection
from store.customers import Customer
from store.db import make_engine, make_sessionmaker
from store.incidents import Incident, IncidentEvent
from store.migrate import upgrade

_MAX_TICKS = 1_000_000  # a bound, so a clock bug cannot hang a replay
_NOTICE_KINDS = {codes.KIND_NOTIFY: "engineer"}  # the issue's name for the engineers' notification


@dataclass(frozen=True)
class Recorded:
    at: datetime
    name: str
    raw: bytes


def read_mail(path: Path, stderr: TextIO = sys.stderr) -> list[Recorded]:
    """The .eml files of a directory (or one .eml, or an mbox), ordered by Date:, then by name."""
    if path.is_dir():
        items = [(p.name, p.read_bytes()) for p in sorted(path.iterdir()) if p.suffix.lower() == ".eml"]
    elif path.suffix.lower() == ".eml":
        items = [(path.name, path.read_bytes())]
    else:
        box = mailbox.mbox(str(path), create=False)
        try:
            items = [(f"{index:06d}", box.get_bytes(key)) for index, key in enumerate(box.keys())]
        finally:
            box.close()
    recorded = []
    for name, raw in items:
        at = _date(raw)
        if at is None:
            print(f"replay: {name}: no usable Date: header; skipped", file=stderr)
            continue
        recorded.append(Recorded(at, name, raw))
    return sorted(recorded, key=lambda r: (r.at, r.name))


def _date(raw: bytes) -> datetime | None:
    value = BytesParser(policy=compat32).parsebytes(raw, headersonly=True).get("Date")
    try:
        at = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _envelope(raw: bytes, fallback: str) -> Envelope:
    headers = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    # No SMTP envelope in a recording: the From address, else a placeholder that is no null
    # sender (an unparseable From must not read as a bounce, issue 13).
    sender = parseaddr(str(headers.get("From", "")))[1]
    sender = sender if "@" in sender else UNKNOWN_SENDER
    recipients = [a for _, a in getaddresses([str(v) for v in headers.get_all("To", []) + headers.get_all("Cc", [])])
                  if a]
    return Envelope(sender, tuple(recipients) or (fallback,))


def replay_settings(settings: Settings, workdir: Path) -> Settings:
    """The operator's settings with everything that touches the world replaced by local things."""
    gateway = settings.gateway.model_copy(update={"data_dir": workdir, "work_process": False})
    return settings.model_copy(update={
        "gateway": gateway, "database": DatabaseSection(url=f"sqlite:///{workdir / 'replay.db'}",
                                                        sqlite_synchronous="NORMAL"),
        "relay": None, "imap": [], "tokens": TokensSection(),
        "outbound": settings.outbound.model_copy(update={"folder": workdir / "outbox"}),
        "authentication": None,  # no DNS; like its engineers' tokens, recorded mail is taken as it came
    })


def replay(settings: Settings, path: Path, until: datetime, stderr: TextIO = sys.stderr) -> list[dict[str, Any]]:
    """Run the recorded mail up to `until`; return the timeline, in time order."""
    mails = [m for m in read_mail(path, stderr) if m.at <= until]
    with tempfile.TemporaryDirectory(prefix="support-gateway-replay-") as workdir:
        local = replay_settings(settings, Path(workdir))
        app = build_app(local, create_secret=False)
        app = dataclasses.replace(app, policy=dataclasses.replace(app.policy, trust_engineer_from=True))
        engine = make_engine(local.database.url or "", sqlite_synchronous="NORMAL")
        try:
            upgrade(engine)
            sessions = make_sessionmaker(engine)
            clock = FixedClock(mails[0].at if mails else until)
            with sessions.begin() as session:
                sync_customers(session, local.customers, clock.now())
            fallback = local.gateway.support_addresses[0]
            reviews = review_moments(app, sessions, clock.now(), until)  # issue 14: the periodic review too
            for mail in mails:
                _run_scheduler(app, sessions, clock, mail.at, inclusive=False, reviews=reviews)
                clock.set(mail.at)
                accept_raw(sessions, mail.raw, _envelope(mail.raw, fallback), source=codes.SOURCE_CLI,
                           now=clock.now(), source_ref=mail.name)
                while process_pending(app, sessions, clock):
                    pass
            _run_scheduler(app, sessions, clock, until, inclusive=True, reviews=reviews)
            return timeline(app, sessions, until)
        finally:
            engine.dispose()


def _run_scheduler(app: App, sessions: sessionmaker[Session], clock: FixedClock, before: datetime,
                   inclusive: bool, reviews: list[datetime] | None = None) -> None:
    """Wake the scheduler at each due time up to `before`, as the daemon would have; `reviews` are the
    periodic reviews' minutes still to come (replay_review), taken off the list as they are done."""
    reviews = [] if reviews is None else reviews
    for _ in range(_MAX_TICKS):
        due = next_wakeup(sessions)
        wake = min([t for t in (due, reviews[0] if reviews else None) if t is not None], default=None)
        if wake is None or wake > before or (wake == before and not inclusive):
            return
        clock.set(max(wake, clock.now()))
        if reviews and wake == reviews[0]:
            reviews.pop(0)
            queue_periodic_reports(app, sessions, clock)
            continue
        if tick(app, sessions, clock) == 0:
            return
    raise RuntimeError("replay: the scheduler did not settle")


def timeline(app: App, sessions: sessionmaker[Session], until: datetime) -> list[dict[str, Any]]:
    """Every incident's story as timeline entries, sorted by time, incident, then log order."""
    entries: list[tuple[datetime, int, int, dict[str, Any]]] = []
    with sessions() as session:
        customers = {c.id: c.key for c in session.scalars(select(Customer))}
        for incident in session.scalars(select(Incident).order_by(Incident.number)):
            rows = list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                                        .order_by(IncidentEvent.id)))
            entries.extend(_incident_entries(app, incident, customers.get(incident.customer_id, ""), rows, until))
        entries.extend(review_entries(app, session))
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    return [entry for *_, entry in entries]


def _incident_entries(app: App, incident: Incident, customer: str, rows: list[IncidentEvent],
                      until: datetime) -> Iterator[tuple[datetime, int, int, dict[str, Any]]]:
    plan = app.plan_for(incident.plan, customer)
    zone = ZoneInfo(plan.calendar.timezone)

    def stamp(at: datetime) -> str:
        return at.astimezone(zone).isoformat()

    def entry(at: datetime, order: int, event: str, **data: Any) -> tuple[datetime, int, int, dict[str, Any]]:
        return at, incident.number, order, {"at": stamp(at), "incident": incident.ref, "event": event, **data}

    log = [ClockEvent(r.at, r.type, r.data) for r in rows]
    for order, row in enumerate(rows):
        data = row.data
        if row.type == "opened":
            due = evaluate(log[:1], plan, row.at).response_due
            yield entry(row.at, order, "opened", severity=data["severity"],
                        requested_severity=data.get("requested_severity"), plan=data["plan"], customer=customer,
                        response_due=stamp(due) if due else None)
        elif row.type == "severity-review-requested":
            yield entry(row.at, order, "severity-review-requested", asked=data.get("asked"),
                        direction=data.get("direction"))
        elif row.type == "status-text":  # issue 14: an engineer's #status, for the next status report
            yield entry(row.at, order, "status-text", by=data.get("by", ""), text=data.get("text", ""))
        elif row.type == "side":
            yield entry(row.at, order, "side", side=data["side"])
        elif row.type == "severity":
            yield entry(row.at, order, "severity", **{"from": data["from"]}, to=data["to"],
                        reason=data.get("reason", ""))
        elif row.type == "notice":
            extra = {"rung": data["rung"]} if data.get("kind") == codes.KIND_ESCALATION and "rung" in data else {}
            extra.update({k: data[k] for k in ("off_hours", "on_duty", "instead_of", "asked", "late_by",
                                                "shaped_by", "report_due")
                          if k in data})  # issue 14: reroutes and review requests show in a what-if
            if "report_due" in extra:  # a status prompt: the report it asks a text for, in local time
                extra["report_due"] = stamp(datetime.fromisoformat(str(extra["report_due"])))
            yield entry(row.at, order, "notice", kind=_NOTICE_KINDS.get(data["kind"], data["kind"]),
                        to=list(data.get("to", [])), **extra)
        elif row.type == codes.EVENT_NOT_SENT:  # a rate limit held an automatic letter back (issue 10)
            yield entry(row.at, order, "not-sent", kind=data["kind"], to=list(data.get("to", [])),
                        limit=data.get("limit", ""))
        elif row.type == "escalation":  # a rung with nobody configured to tell
            yield entry(row.at, order, "notice", kind=codes.KIND_ESCALATION, to=[], rung=data["rung"])
        elif row.type == "status" and data.get("status") in ("resolved", "closed"):
            yield entry(row.at, order, "closed", reason=data.get("resolution") or data.get("reason") or data["status"])
    yield from _response(entry, evaluate(log, plan, until), stamp, len(rows))


def _response(entry: Any, view: Any, stamp: Any, order: int) -> Iterator[tuple[datetime, int, int, dict[str, Any]]]:
    """Emitted when met, or at the due time when it was not met by then."""
    due, met = view.response_due, view.response_met_at
    if met is not None and (due is None or met <= due):
        yield entry(met, order, "response", due=stamp(due) if due else None, met_at=stamp(met), breached=False)
    elif due is not None and due <= view.now:
        yield entry(due, order, "response", due=stamp(due), met_at=None, breached=True)
        if met is not None:  # answered late (issue 14): when, and by how much
            yield entry(met, order, "response", due=stamp(due), met_at=stamp(met), breached=True,
                        late_by=int((met - due).total_seconds()))


def format_entry(item: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json_line(item)
    rest = " ".join(f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
                    for k, v in item.items() if k not in ("at", "incident", "event"))
    return f"{item['at']}  {item['incident'] or '-'}  {item['event']:<8} {rest}".rstrip()
