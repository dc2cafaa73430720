"""Issue 14, part A: letters on non-working days wait for the next opening; durations read naturally."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from store.outbox import OutboxMessage
from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    at,
    engineer,
    incident,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline

JST = ZoneInfo("Asia/Tokyo")


def test_a_timeout_on_new_years_day_closes_on_time_and_is_sent_at_the_next_opening(pipeline: Pipeline) -> None:
    pipeline.clock.set(jst(12, 1, 10))  # type: ignore[attr-defined]  # Tuesday 1 Dec 10:00 JST, enhanced
    notification = open_incident(pipeline, "alice@example.test")
    engineer(pipeline, notification, "ログファイルをお送りください。\n")  # the customer side from 10:00
    for day in (8, 15, 22):
        at(pipeline, jst(12, day, 10))
    assert len(sent(pipeline, "reminder")) == 3
    at(pipeline, datetime(2027, 1, 1, 10, tzinfo=JST))  # one month: New Year's Day, the desk is closed
    assert incident(pipeline).status == "closed"  # the state change happens on time
    assert not sent(pipeline, "timeout")
    with pipeline.sessions() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "timeout")).one()
        assert row.next_attempt_at == datetime(2027, 1, 4, 9, tzinfo=JST)  # closure 29 Dec - 3 Jan
    assert "Closed" in str(sent(pipeline, "clock-change")[-1]["Subject"])  # the engineers hear at once
    at(pipeline, datetime(2027, 1, 4, 8, 59, tzinfo=JST))
    assert not sent(pipeline, "timeout")
    at(pipeline, datetime(2027, 1, 4, 9, tzinfo=JST))
    [letter] = sent(pipeline, "timeout")
    assert letter["Date"].datetime == datetime(2027, 1, 4, 9, tzinfo=JST)  # dated when it goes out


def test_a_reminder_reads_seven_days_not_seven_days_and_zero_minutes(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "alice@example.test")
    engineer(pipeline, notification, "ログファイルをお送りください。\n")
    at(pipeline, jst(12, 1, 10))
    body = sent(pipeline, "reminder")[0].get_content()
    assert "（7日経過）" in body and "0分" not in body
