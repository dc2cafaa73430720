"""`support-gateway report CUSTOMER --quarter 2026Q4`: the quarterly review as a mail or on screen.

The figures come from gateway.core.quarterly (pure); this module reads the
customer's incidents, draws the chart (gateway.ops.chart) and builds one message:
multipart/alternative with a plain-text part and an HTML part whose chart is an
inline PNG (multipart/related, cid:). Sending means an outbox row, like every
other mail; printing shows the text part (or writes the HTML with the image
inline as a data: URI).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import codes
from gateway.app import App
from gateway.ops.chart import PALETTE, bar_chart
from gateway.core.quarterly import IncidentRecord, QuarterReport, build
from gateway.core.sla import ClockEvent
from gateway.outbound.mime import new_message_id
from gateway.outbound.letter import span_text
from store.customers import Customer
from store.incidents import Incident, IncidentEvent
from store.outbox import OutboxMessage

KIND_QUARTERLY = "quarterly"
CHART_CID = "quarterly-chart"


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


class ReportError(Exception):
    """The customer is unknown or has no address to send to."""


def figures(app: App, session: Session, customer_key: str, quarter: str) -> tuple[Customer, QuarterReport]:
    customer = session.scalar(select(Customer).where(Customer.key == customer_key))
    if customer is None:
        raise ReportError(f"no customer {customer_key!r}")
    records = []
    for incident in session.scalars(select(Incident).where(Incident.customer_id == customer.id)
                                    .order_by(Incident.number)):
        rows = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                               .order_by(IncidentEvent.id))
        records.append(IncidentRecord(incident.ref, incident.subject,
                                      tuple(ClockEvent(r.at, r.type, r.data) for r in rows)))
    return customer, build(quarter, app.plan_for(customer.plan, customer.key), records)


def render(app: App, customer: Customer, report: QuarterReport) -> ReportMail:
    """Text and HTML in the customer's locale, and the chart (opened and resolved by severity)."""
    plan = app.plans.get(customer.plan)
    locale = customer.locale
    context = {
        "customer": {"name": customer.name, "key": customer.key}, "plan": {"title": plan.title},
        "report": report, "severities": [1, 2, 3, 4],
        "vendor_time": span_text(report.vendor_time, locale), "customer_time": span_text(report.customer_time, locale),
        "period": f"{report.start:%Y-%m-%d} – {report.end:%Y-%m-%d}", "chart_cid": CHART_CID,
        "colors": ["#%02x%02x%02x" % c for c in PALETTE[:2]],
    }
    rendered = app.renderer.render("quarterly", locale, gateway_name=app.settings.gateway.name, **context)
    html_env = Environment(loader=FileSystemLoader(str(app.settings.gateway.templates_dir)),
                           autoescape=select_autoescape(["html.j2"]), undefined=StrictUndefined)
    html = html_env.get_template(f"{locale}/quarterly.html.j2").render(
        **context, subject=rendered.subject, gateway_name=app.settings.gateway.name)
    chart = bar_chart([[report.opened.get(s, 0), report.resolved.get(s, 0)] for s in (1, 2, 3, 4)])
    return ReportMail(rendered.subject, rendered.body, html, chart)


def recipients(app: App, customer_key: str) -> tuple[str, ...]:
    """The customer's contacts from the settings and their TAM (who presents the review)."""
    section = next((c for c in app.settings.customers if c.key == customer_key), None)
    if section is None:
        return ()
    return tuple(dict.fromkeys([*section.contacts, *([section.tam] if section.tam else [])]))


def message(app: App, mail: ReportMail, to: tuple[str, ...], now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{app.settings.gateway.name} <{app.sender_address}>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = new_message_id(app.sender_domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg[codes.LOOP_HEADER] = app.settings.gateway.loop_marker
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    html_part = msg.get_payload()[1]  # type: ignore[index]
    html_part.add_related(mail.chart, "image", "png", cid=f"<{CHART_CID}>")
    return msg


def queue(session: Session, app: App, mail: ReportMail, to: tuple[str, ...], now: datetime) -> OutboxMessage:
    """"Send" = one outbox row, keyed so the same quarter is not sent twice."""
    msg = message(app, mail, to, now)
    row = OutboxMessage(kind=KIND_QUARTERLY, dedupe_key=None, message_id=str(msg["Message-ID"]),
                        mail_from=app.sender_address, rcpt_tos=list(to), raw=msg.as_bytes(policy=SMTP),
                        state=codes.OUT_QUEUED, attempts=0, next_attempt_at=now, created_at=now)
    session.add(row)
    return row
