"""The periodic (quarterly) review in `replay`: queued at the minute the daemon would, shown on the timeline.

gateway.work.periodic sends each customer's review once per period, at the
plan calendar's first working-day opening after the period ends
(support-programs.md §4/§8, `periodic_report = "3mo"`). A replay wakes at
exactly those minutes too (besides the SLA clock's), so a what-if over a
quarter's end shows the review: one timeline entry per queued review, with its
recipients, customer and period (issue 14).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App
from gateway.core.periods import period_containing
from gateway.core.quarterly import first_opening_after
from gateway.work.review import KIND_QUARTERLY
from store.customers import Customer
from store.outbox import OutboxMessage


def review_moments(app: App, sessions: sessionmaker[Session], start: datetime, until: datetime) -> list[datetime]:
    """Every minute in (start, until] at which some customer's periodic review falls due, earliest first."""
    moments: set[datetime] = set()
    with sessions() as session:
        customers = list(session.scalars(select(Customer)))
    for customer in customers:
        if customer.plan not in app.plans.plans:
            continue
        plan = app.plan_for(customer.plan, customer.key)
        every = plan.periodic_report
        if every is None or not every.months:
            continue
        period = period_containing(start, every.months, plan.calendar.timezone)
        while period.end <= until:
            moment = first_opening_after(plan.calendar, period.end)
            if start < moment <= until:
                moments.add(moment)
            period = period_containing(period.end, every.months, plan.calendar.timezone)
    return sorted(moments)


def review_entries(app: App, session: Session) -> Iterator[tuple[datetime, int, int, dict[str, Any]]]:
    """The queued reviews as timeline entries (no incident: sorted before the incidents of the same minute)."""
    plans = {c.key: c.plan for c in session.scalars(select(Customer))}
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == KIND_QUARTERLY)
                               .order_by(OutboxMessage.id)):
        _, customer, label = (row.dedupe_key or f"{KIND_QUARTERLY}::").split(":", 2)
        plan = plans.get(customer)
        zone = ZoneInfo(app.plan_for(plan, customer).calendar.timezone) if plan in app.plans.plans else None
        at = row.created_at.astimezone(zone) if zone else row.created_at
        yield row.created_at, 0, row.id, {"at": at.isoformat(), "incident": None, "event": "notice",
                                          "kind": KIND_QUARTERLY, "to": list(row.rcpt_tos), "customer": customer,
                                          "period": label}
