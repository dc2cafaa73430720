"""Issue 14: status reports an engineer can shape — `#status <text>`, the prompt ahead of each report,
and the report that carries the text once. Every check at the exact minute (fixed clock)."""

from __future__ import annotations

from email.message import EmailMessage

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.views import show_incident
from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    ENGINEER,
    QUEUE,
    at,
    engineer,
    events,
    incident,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline

RAISED = "#severity 1 total outage\n#investigating\n"  # tam plan, severity 1: a report every 2 h (wall)


def raised(pipeline: Pipeline, assign: bool = False) -> EmailMessage:
    """Erin's incident, opened Tue 24 Nov 10:00 JST and raised to 1: the first report is due at 12:00."""
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, RAISED + ("#assign yamada\n" if assign else ""))
    return notification


def test_a_status_text_is_stored_with_its_author_and_confirmed_and_the_customer_gets_nothing(
        pipeline: Pipeline) -> None:
    notification = raised(pipeline)
    letters_before = len(pipeline.sent_files())
    engineer(pipeline, notification, "#status The fix is being tested.\nWe expect results by 15:00.\n")
    [stored] = events(pipeline, "status-text")
    assert stored.data == {"by": ENGINEER, "text": "The fix is being tested.\nWe expect results by 15:00.",
                           "inbound_id": stored.data["inbound_id"]}
    new = pipeline.sent_files()[letters_before:]
    assert [p.name.split("-INC")[0].split("-", 1)[-1] for p in new] == ["confirm"]
    [confirmation] = sent(pipeline, "confirm")[-1:]
    body = confirmation.get_content()
    assert "Your status text was stored for the customer's next status report (due 2026-11-24 12:00 JST)" in body
    assert "nothing was sent to the customer now" in body
    assert incident(pipeline).side == "vendor"  # the side does not change


def test_the_japanese_and_full_width_status_command_stores_the_text_too(pipeline: Pipeline) -> None:
    notification = raised(pipeline)
    engineer(pipeline, notification, "＃状況　修正版を検証しております。\n")
    [stored] = events(pipeline, "status-text")
    assert stored.data["text"] == "修正版を検証しております。"
    assert incident(pipeline).side == "vendor"


def test_a_status_command_without_text_is_refused_and_changes_nothing(pipeline: Pipeline) -> None:
    notification = raised(pipeline)
    engineer(pipeline, notification, "#status\n")
    assert not events(pipeline, "status-text")
    [error] = sent(pipeline, "command-error")
    assert "#status needs the text for the customer's next status report" in error.get_content()


def test_the_assigned_engineer_is_asked_for_a_status_text_thirty_minutes_before_the_report_once(
        pipeline: Pipeline) -> None:
    notification = raised(pipeline, assign=True)
    at(pipeline, jst(11, 24, 11, 29))
    assert not sent(pipeline, "status-prompt")
    at(pipeline, jst(11, 24, 11, 30))
    [prompt] = sent(pipeline, "status-prompt")
    assert [a.addr_spec for a in prompt["To"].addresses] == [ENGINEER]
    assert prompt["In-Reply-To"] == notification["Message-ID"]  # in the incident's engineers' thread
    assert ("Status report to Big Corp due at 2026-11-24 12:00 JST; reply with #status <text> to write it."
            in prompt.get_content())
    at(pipeline, jst(11, 24, 11, 31))
    assert len(sent(pipeline, "status-prompt")) == 1
    at(pipeline, jst(11, 24, 13, 30))  # the next report (14:00) gets its own prompt
    assert len(sent(pipeline, "status-prompt")) == 2


def test_without_an_assignee_the_prompt_goes_to_the_engineers_queue(pipeline: Pipeline) -> None:
    raised(pipeline)
    at(pipeline, jst(11, 24, 11, 30))
    [prompt] = sent(pipeline, "status-prompt")
    assert [a.addr_spec for a in prompt["To"].addresses] == [QUEUE]


def test_a_prompt_lead_of_zero_sends_no_prompt(make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en", "status_prompt_minutes": 0},
        customers=[{"key": "big", "name": "Big Corp", "plan": "tam", "locale": "en", "domains": ["big.test"],
                    "contacts": ["erin@big.test"]}])
    quiet = Pipeline(build_app(settings), sessions, clock)
    raised(quiet)
    at(quiet, jst(11, 24, 11, 30))
    at(quiet, jst(11, 24, 12))
    assert not sent(quiet, "status-prompt") and len(sent(quiet, "status")) == 1


def test_the_report_at_the_due_minute_carries_the_latest_status_text_once(pipeline: Pipeline) -> None:
    notification = raised(pipeline)
    engineer(pipeline, notification, "#status The first draft.\n")
    engineer(pipeline, notification, "#status The fix is in test; results by 15:00.\n")
    at(pipeline, jst(11, 24, 11, 59))
    assert not sent(pipeline, "status")
    at(pipeline, jst(11, 24, 12))
    [report] = sent(pipeline, "status")
    body = report.get_content()
    assert "From the engineer:\nThe fix is in test; results by 15:00.\n" in body
    assert "The first draft." not in body
    [notice] = [e for e in events(pipeline, "notice") if e.data["kind"] == "status"]
    assert notice.data["shaped_by"] == ENGINEER
    at(pipeline, jst(11, 24, 14))  # no new #status: the boilerplate goes out as before
    second = sent(pipeline, "status")[1].get_content()
    assert "From the engineer" not in second and "Next step:" in second


def test_a_report_without_a_status_text_is_the_boilerplate(pipeline: Pipeline) -> None:
    raised(pipeline)
    at(pipeline, jst(11, 24, 12))
    [report] = sent(pipeline, "status")
    assert "From the engineer" not in report.get_content()
    assert not any("shaped_by" in e.data for e in events(pipeline, "notice"))


def test_a_japanese_customers_report_carries_the_text_under_the_japanese_heading(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "alice@example.test")  # enhanced, ja; severity 1: every 24 h
    engineer(pipeline, notification, RAISED + "#status 修正版を検証しております。\n")
    at(pipeline, jst(11, 25, 9, 30))
    assert len(sent(pipeline, "status-prompt")) == 1
    at(pipeline, jst(11, 25, 10))
    [report] = sent(pipeline, "status")
    assert "担当エンジニアより:\n修正版を検証しております。\n" in report.get_content()


def test_incidents_show_json_lists_the_status_texts_and_the_prompts(pipeline: Pipeline) -> None:
    notification = raised(pipeline)
    engineer(pipeline, notification, "#status The fix is in test.\n")
    at(pipeline, jst(11, 24, 11, 30))
    detail = show_incident(pipeline.sessions, "INC-000001")
    assert detail is not None
    [text] = [e for e in detail["events"] if e["type"] == "status-text"]
    assert text["data"]["text"] == "The fix is in test." and text["data"]["by"] == ENGINEER
    [prompt] = [e for e in detail["events"] if e["type"] == "notice" and e["data"]["kind"] == "status-prompt"]
    assert prompt["at"] == jst(11, 24, 11, 30).isoformat() or prompt["at"].startswith("2026-11-24T02:30")
    assert prompt["data"]["key"] == "status-prompt:s1.1:1"
    assert "status-prompt" in [letter["kind"] for letter in detail["letters"]]


def test_replying_to_the_prompt_with_status_shapes_the_report_due_half_an_hour_later(pipeline: Pipeline) -> None:
    raised(pipeline, assign=True)
    at(pipeline, jst(11, 24, 11, 30))
    [prompt] = sent(pipeline, "status-prompt")
    engineer(pipeline, prompt, "#status Firmware 2.1 fixes it; we install it at 13:00.\n")
    [stored] = events(pipeline, "status-text")
    assert stored.data["text"] == "Firmware 2.1 fixes it; we install it at 13:00."
    at(pipeline, jst(11, 24, 12))
    [report] = sent(pipeline, "status")
    assert "From the engineer:\nFirmware 2.1 fixes it; we install it at 13:00.\n" in report.get_content()
