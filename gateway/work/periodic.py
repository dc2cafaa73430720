"""The scheduler's periodic-review step: each customer's review, once per period, after the period ends.

support-programs.md §4/§8: the TAM reviews every incident of a customer every
3 months; a plan says so with `periodic_report = "3mo"` (msa-enterprise). At
the first tick at or after the plan calendar's first working-day opening after
a period ends (not at midnight on New Year's Day), each customer on such a plan
gets the review of the period just ended — through the outbox, keyed
(customer, period) like `report --send`, so a restart, a second daemon or an
operator's `--send` never queue it twice. A customer added after the period
ended is not sent a review of a period it was not a customer in.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App
from gateway.clock import Clock
from gateway.core.periods import Period, last_ended
from gateway.core.quarterly import first_opening_after
from gateway.work.review import figures, queue, recipients, render, review_key
from store.customers import Customer
from store.outbox import OutboxMessage

log = logging.getLogger(__name__)


def _due_period(app: App, customer: Customer, now: datetime) -> Period | None:
    """The period whose review this customer is owed at `now`, if the plan asks for one."""
    plan = app.plan_for(customer.plan, customer.key)
    every = plan.periodic_report
    if every is None or not every.months:
        return None
    period = last_ended(now, every.months, plan.calendar.timezone)
    if customer.created_at >= period.end or now < first_opening_after(plan.calendar, period.end):
        return None
    return period


def queue_periodic_reports(app: App, sessions: sessionmaker[Session], clock: Clock,
                           readers: sessionmaker[Session] | None = None) -> int:
    """Queue every review that is due and not yet queued; return how many were queued.

    `readers` (default: `sessions`) answers "is any review owed?", so a tick with
    nothing owed never opens a write transaction (on SQLite it would take the
    write lock the SMTP intake waits for: gateway.work.scheduler.tick).
    """
    now = clock.now()
    with (readers or sessions)() as session:
        customers = list(session.scalars(select(Customer).order_by(Customer.id)))
        owed = {c.key: p for c in customers if c.plan in app.plans.plans and (p := _due_period(app, c, now))}
        if not owed:
            return 0
        keys = {review_key(k, p.label) for k, p in owed.items()}
        done = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
    count = 0
    for key, period in owed.items():
        if review_key(key, period.label) in done:
            continue
        try:
            with sessions.begin() as session:
                audience = recipients(app, session, key)
                if not audience.to:
                    log.warning("periodic review %s of %s: no contacts to send to", period.label, key)
                    continue
                customer, report = figures(app, session, key, period.label, now)
                queue(session, app, render(app, customer, report), audience, now, review_key(key, period.label))
        except IntegrityError:  # another daemon queued it first: the dedupe key refused the copy
            continue
        log.info("periodic review %s of %s queued to %s", period.label, key, ", ".join(audience.everyone))
        count += 1
    return count
