"""The periodic (quarterly) review as one mail: figures, text and HTML with a chart, queued once per period.

support-programs.md §4 and §8: the TAM reviews all of a customer's incidents
every 3 months. The figures are gateway.core.quarterly's (pure, read at
min(now, period end)); this module reads the customer's incidents, draws the
chart (gateway.outbound.chart) and builds one message: multipart/alternative
with a plain-text part and an HTML part whose chart is an inline PNG
(multipart/related, cid:, RFC 2387 / RFC 2392). Sending is an outbox row keyed
(customer, period), so the `report --send` command and the scheduler's
periodic step (gateway.work.periodic) never queue the same review twice.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.core.quarterly import IncidentRecord, QuarterReport, build
from gateway.core.sla import ClockEvent
from gateway.outbound.chart import PALETTE, bar_chart
from gateway.outbound.letter import span_text
from gateway.outbound.mime import new_message_id
from store.customers import Customer
from store.incidents import Incident, IncidentEvent
from store.outbox import OutboxMessage

KIND_QUARTERLY = "quarterly"
CHART_CID = "quarterly-chart"


def review_key(customer_key: str, label: str) -> str:
    """The outbox dedupe key of one customer's review of one period."""
    return f"{KIND_QUARTERLY}:{customer_key}:{label.upper()}"


@dataclass(frozen=True)
class ReportMail:
    subject: str
    text: str
    html: str
    chart: bytes

    def html_standalone(self) -> str:
        """The HTML with the chart inline as a data: URI, for a browser."""
        uri = "data:image/png;base64," + base64.b64encode(self.chart).decode("ascii")
        return self.html.replace(f"cid:{CHART_CID}", uri)


@dataclass(frozen=True)
class Audience:
    """Who gets the review: the customer's contacts (To) and their TAM, who presents it (Cc)."""

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()

    @property
    def everyone(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.to, *self.cc]))


class ReportError(Exception):
    """The customer is unknown or has no address to send to."""


def figures(app: App, session: Session, customer_key: str, label: str,
            now: datetime | None = None) -> tuple[Customer, QuarterReport]:
    """One customer's figures for a period, read at min(now, period end)."""
    customer = session.scalar(select(Customer).where(Customer.key == customer_key))
    if customer is None:
        raise ReportError(f"no customer {customer_key!r}")
    incidents = list(session.scalars(select(Incident).where(Incident.customer_id == customer.id)
                                     .order_by(Incident.number)))
    logs: dict[int, list[ClockEvent]] = {i.id: [] for i in incidents}
    if incidents:
        for row in session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id.in_(list(logs)))
                                   .order_by(IncidentEvent.incident_id, IncidentEvent.id)):
            logs[row.incident_id].append(ClockEvent(row.at, row.type, row.data))
    records = [IncidentRecord(i.ref, i.subject, tuple(logs[i.id])) for i in incidents]
    return customer, build(label, app.plan_for(customer.plan, customer.key), records, now)


def render(app: App, customer: Customer, report: QuarterReport) -> ReportMail:
    """Text and HTML in the customer's locale, and the chart (opened and resolved by severity)."""
    plan = app.plans.get(customer.plan)
    locale = customer.locale
    zone = ZoneInfo(plan.calendar.timezone)
    as_of = (report.as_of or report.end).astimezone(zone)
    context = {
        "customer": {"name": customer.name, "key": customer.key}, "plan": {"title": plan.title},
        "report": report, "severities": [1, 2, 3, 4], "running": report.running,
        "as_of": f"{as_of:%Y-%m-%d %H:%M} {as_of.tzname()}",
        "vendor_time": span_text(report.vendor_time, locale), "customer_time": span_text(report.customer_time, locale),
        "period": f"{report.start:%Y-%m-%d} – {report.last_day:%Y-%m-%d}", "chart_cid": CHART_CID,
        "colors": ["#%02x%02x%02x" % c for c in PALETTE[:2]],
        "scale_top": max([*report.opened.values(), *report.resolved.values(), 0]),
    }
    rendered = app.renderer.render("quarterly", locale, gateway_name=app.settings.gateway.name, **context)
    html_env = Environment(loader=FileSystemLoader(str(app.settings.gateway.templates_dir)),
                           autoescape=select_autoescape(["html.j2"]), undefined=StrictUndefined)
    html = html_env.get_template(f"{locale}/quarterly.html.j2").render(
        **context, subject=rendered.subject, gateway_name=app.settings.gateway.name)
    chart = bar_chart([[report.opened.get(s, 0), report.resolved.get(s, 0)] for s in (1, 2, 3, 4)])
    return ReportMail(rendered.subject, rendered.body, html, chart)


def recipients(app: App, session: Session, customer_key: str) -> Audience:
    """The customer's authorized contacts from the settings *and* the database (`customers add-contact`),
    and their TAM in copy (the TAM presents the review: seeds/000 §4.1, 002 §3)."""
    section = next((c for c in app.settings.customers if c.key == customer_key), None)
    customer = session.scalar(select(Customer).where(Customer.key == customer_key))
    stored = [c.address for c in customer.contacts if c.authorized] if customer is not None else []
    to = tuple(dict.fromkeys([*(section.contacts if section else []), *stored]))
    tam = section.tam if section is not None and section.tam and section.tam not in to else None
    return Audience(to, (tam,) if tam else ())


def message(app: App, mail: ReportMail, audience: Audience, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{app.settings.gateway.name} <{app.sender_address}>"
    msg["To"] = ", ".join(audience.to)
    if audience.cc:
        msg["Cc"] = ", ".join(audience.cc)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{new_message_id(app.sender_domain)}>"  # RFC 5322 §3.6.4: msg-id is "<" id ">"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    msg[codes.LOOP_HEADER] = app.settings.gateway.loop_marker
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(mail.chart, "image", "png", cid=f"<{CHART_CID}>")
    return msg


def queued(session: Session, customer_key: str, label: str) -> OutboxMessage | None:
    """The review of this period already in the outbox, if any."""
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == review_key(customer_key, label)))


def queue(session: Session, app: App, mail: ReportMail, audience: Audience, now: datetime,
          key: str | None = None) -> OutboxMessage:
    """"Send" = one outbox row; with `key` (review_key) a period's review is queued once (the caller checks)."""
    msg = message(app, mail, audience, now)
    row = OutboxMessage(kind=KIND_QUARTERLY, dedupe_key=key, message_id=str(msg["Message-ID"]).strip("<>"),
                        mail_from=app.sender_address, rcpt_tos=list(audience.everyone),
                        raw=msg.as_bytes(policy=SMTP), state=codes.OUT_QUEUED, attempts=0,
                        next_attempt_at=now, created_at=now)
    session.add(row)
    return row
