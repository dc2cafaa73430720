"""Issue 14, part A: the engineers see what the clock changed by itself, one short line each, threaded."""

from __future__ import annotations

from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    QUEUE,
    at,
    engineer,
    incident,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline


def test_a_downgrade_by_the_clock_is_copied_to_the_queue_at_the_same_minute(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#severity 1 total outage\n\nPlease send the log files.\n")
    at(pipeline, jst(11, 24, 11, 59))
    assert not sent(pipeline, "clock-change")
    at(pipeline, jst(11, 24, 12))
    [line] = sent(pipeline, "clock-change")
    assert [a.addr_spec for a in line["To"].addresses] == [QUEUE]
    assert "Downgraded to severity 2" in str(line["Subject"])
    assert line["In-Reply-To"] == notification["Message-ID"]  # threaded to the engineers' own mail
    at(pipeline, jst(11, 24, 12, 1))
    assert len(sent(pipeline, "clock-change")) == 1


def test_reminders_and_the_timeout_close_are_copied_to_the_queue(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "Please send the log files.\n")  # Tue 24 Nov 10:00 JST: customer side
    at(pipeline, jst(12, 1, 10))
    [reminder] = sent(pipeline, "clock-change")
    assert "Reminder sent to the customer" in str(reminder["Subject"])
    assert "after 7 d on their side" in reminder.get_content()
    for day in (8, 15, 24):
        at(pipeline, jst(12, day, 10))
    assert incident(pipeline).status == "closed"
    lines = sent(pipeline, "clock-change")
    assert len(lines) == 4 and "Closed: no answer from the customer for a month" in str(lines[-1]["Subject"])
