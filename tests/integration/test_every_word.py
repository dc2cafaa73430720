"""Issue 11 part B in process: every word an engineer writes reaches someone, letters that read well."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.views import format_incident, show_incident
from gateway.work.directory import add_contact
from tests.conftest import settings_dict
from tests.integration.test_conversations import ENGINEER, QUEUE, engineer_answers, events, incident, mails, opened
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    customers = settings_dict(Path("."), "sqlite://")["customers"]
    for customer in customers:  # MSA severity-1 status reports go only by agreement (issue 14): Acme agreed daily
        if customer["key"] == "acme":
            customer["status_report"] = {"every": "24h", "clock": "wall"}
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
                             customers=customers)
    built = Pipeline(build_app(settings), sessions, clock)
    with sessions.begin() as session:
        add_contact(session, "acme", "dave@acme.test", "Dave Tanaka", clock.now())
        add_contact(session, "demo", "takahashi@example.test", "髙橋 一郎", clock.now())
    return built


def sent_to(pipeline: Pipeline, kind: str, to: str) -> list:  # type: ignore[type-arg]
    return [m for m in mails(pipeline, kind) if m["To"] == to]


def test_waiting_with_a_question_relays_it_and_records_the_first_response(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#waiting\nCould you send us the agent log?")
    [relay] = mails(pipeline, "relay")
    assert relay["To"] == "alice@example.test" and "Could you send us the agent log?" in relay.get_content()
    assert incident(pipeline).side == "customer"
    assert any(e.data.get("kind") == "relay" for e in events(pipeline, type_="notice"))
    detail = show_incident(pipeline.sessions, "INC-000001", pipeline.app.plan_for, pipeline.clock.now())
    assert detail is not None and detail["clock"]["response_met_at"] is not None
    assert "response met" in format_incident(detail)


def test_incidents_show_shows_the_clock_and_each_letter_with_its_recipients(pipeline: Pipeline) -> None:
    opened(pipeline, body="Severity: 1\nProduction is down.\n")
    detail = show_incident(pipeline.sessions, "INC-000001", pipeline.app.plan_for, pipeline.clock.now())
    assert detail is not None
    clock = detail["clock"]
    assert (clock["severity"], clock["requested_severity"], clock["side"]) == (3, 1, "vendor")
    assert clock["response_due"] is not None and clock["response_met_at"] is None
    assert {"opened_at", "vendor_seconds", "customer_seconds", "next_status_report", "next_escalation"} <= set(clock)
    text = format_incident(detail)
    for label in ("opened:", "severity:            3 (customer asked 1)", "side:                vendor",
                  "vendor-side time:", "customer-side time:", "response due:", "response not met yet",
                  "next status report:", "next escalation:"):
        assert label in text, label
    kinds = {(letter["kind"], tuple(letter["to"])) for letter in detail["letters"]}
    assert ("ack", ("alice@example.test",)) in kinds and ("notify", (QUEUE,)) in kinds
    assert "ack to alice@example.test" in text and f"notify to {QUEUE}" in text


def test_a_note_is_copied_to_the_queue_and_never_to_the_customer(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#note\nCustomer runs an unsupported OS.")
    [note] = mails(pipeline, "note")
    assert note["To"] == QUEUE and "Customer runs an unsupported OS." in note.get_content()
    customer_letters = [path for path in pipeline.sent_files() if "unsupported OS" in read_eml(path).get_content()
                        and read_eml(path)["To"] == "alice@example.test"]
    assert customer_letters == [] and mails(pipeline, "relay") == []


def test_a_bad_command_returns_the_text_with_what_was_not_applied(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#assign suzuki\n#severty 2\nPlease restart the service.")
    [error] = mails(pipeline, "command-error")
    body = error.get_content()
    assert error["To"] == ENGINEER and "Command not accepted" in error["Subject"]
    assert "Not applied: #assign suzuki" in body and "Please restart the service." in body
    assert mails(pipeline, "relay") == [] and incident(pipeline).assignee is None


def test_plain_text_to_a_resolved_incident_is_titled_as_not_sent_and_offers_reopen(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#resolve answered\nSee the manual, chapter 3.")
    engineer_answers(pipeline, notification, "One more hint: restart the agent.")
    [error] = mails(pipeline, "command-error")
    assert "Reply not sent to the customer" in error["Subject"] and "コマンドエラー" not in error["Subject"]
    assert "#reopen" in error.get_content() and "One more hint" in error.get_content()


def test_a_bare_severity_1_applies_with_the_commands_below_and_the_confirmation_asks_why(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#severity 1\n#assign yamada\n#investigating")
    row = incident(pipeline)
    assert (row.severity, row.assignee, row.side) == (1, "yamada", "vendor")
    [confirmation] = mails(pipeline, "confirm")
    body = confirmation.get_content()
    assert confirmation["To"] == ENGINEER and "#severity 1" in body and "#assign yamada" in body
    assert "without a reason" in body and "is on our side" in body and "#waiting" in body
    [changed] = mails(pipeline, "severity-changed")
    assert "follow up with the reason" in changed.get_content() or "追って" in changed.get_content()


def test_every_confirmation_says_which_side_the_reply_left_the_incident_on(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#assign yamada\nPlease send the log.")
    [confirmation] = mails(pipeline, "confirm")
    body = confirmation.get_content()
    assert "on the customer side" in body and "reply with #investigating" in body
    assert "sent to the customer (alice@example.test)" in body


def test_reopen_reopens_a_resolved_incident_on_the_vendor_side_and_tells_the_customer(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline, sender="dave@acme.test")
    engineer_answers(pipeline, notification, "#resolve fixed\nPatch 10.2.1 fixes it.")
    assert incident(pipeline).next_due_at is None  # resolved: the clock has stopped
    engineer_answers(pipeline, notification, "#reopen the patch does not apply on Windows\nWe are on it again.")
    row = incident(pipeline)
    assert (row.status, row.side, row.resolution, row.resolved_at) == ("open", "vendor", None, None)
    assert row.next_due_at is not None  # the scheduler watches it again
    [reopened] = mails(pipeline, "reopened")
    assert reopened["To"] == "dave@acme.test" and "We are on it again." in reopened.get_content()
    assert reopened.get_content().startswith("Dear Dave Tanaka,")
    confirmation = mails(pipeline, "confirm")[-1]
    assert "is on our side" in confirmation.get_content()


def test_salutations_use_the_registered_name_or_a_polite_fallback(pipeline: Pipeline) -> None:
    ack, _ = opened(pipeline, sender="dave@acme.test")
    assert ack.get_content().startswith("Dear Dave Tanaka,")
    ack, _ = opened(pipeline, sender="carol@acme.test", message_id="<c1@acme.test>")
    assert ack.get_content().startswith("Hello,") and "Dear Acme Ltd" not in ack.get_content()
    ack, _ = opened(pipeline, sender="takahashi@example.test", message_id="<t1@example.test>")
    assert ack.get_content().startswith("Demo Corporation\n髙橋 一郎 様\n")
    ack, _ = opened(pipeline, sender="bob@example.test", message_id="<b1@example.test>")
    assert "ご担当者様" in ack.get_content()


def test_a_japanese_relay_that_greets_on_its_own_gets_no_second_salutation(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline, sender="takahashi@example.test")
    engineer_answers(pipeline, notification, "髙橋様\n\nお世話になっております。ログをご送付ください。")
    [relay] = mails(pipeline, "relay")
    body = relay.get_content()
    assert body.startswith("髙橋様") and "ご担当者" not in body and body.count("様") == 1


def test_a_japanese_relay_without_a_greeting_greets_the_registered_contact(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline, sender="takahashi@example.test")
    engineer_answers(pipeline, notification, "ログをご送付ください。")
    [relay] = mails(pipeline, "relay")
    assert relay.get_content().startswith("Demo Corporation\n髙橋 一郎 様\n\nログをご送付ください。")


def test_a_relayed_human_answer_is_not_marked_as_automatic_but_keeps_the_loop_marker(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "Please send the log.")
    [relay] = mails(pipeline, "relay")
    assert relay["Auto-Submitted"] is None and relay["X-Auto-Response-Suppress"] is None
    assert relay["X-Loop"] is not None and ack["Auto-Submitted"] == "auto-replied"
    loop_headers = [name for name in relay.keys() if "loop" in name.lower()]
    assert len(loop_headers) >= 2


def test_a_customer_reply_quoted_with_full_width_marks_reaches_the_engineers_without_the_quote(
        pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "ログをご送付ください。")
    [relay] = mails(pipeline, "relay")
    body = "ログを添付します。\n\n2026年11月24日(火) 10:00 Support <s@x>:\n＞ ログをご送付ください。\n"
    pipeline.accept(reply_to(relay, sender="alice@example.test", body=body, style=""))
    pipeline.run_until_idle()
    notice = mails(pipeline, "notify")[-1].get_content()
    assert "ログを添付します。" in notice and "＞ ログをご送付ください。" not in notice


def test_the_engineers_confirmation_never_reaches_the_customer_and_the_relay_has_no_engineer_token(pipeline: Pipeline) -> None:
    """The confirmation carries the engineer token; no customer letter does (issue 10 stays true)."""
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#assign yamada\nPlease send the log.")
    [relay] = mails(pipeline, "relay")
    assert ".e." not in relay.get_content() and sent_to(pipeline, "confirm", "alice@example.test") == []


def test_split_relays_its_text_when_it_says_more_than_the_list(pipeline: Pipeline) -> None:
    _, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#split\nWe will handle these separately:\n- Backup fails\n- Log export")
    assert len(pipeline.incidents()) == 3
    [relay] = mails(pipeline, "relay")
    assert "We will handle these separately:" in relay.get_content() and incident(pipeline).side == "customer"


def test_a_status_report_greets_the_registered_contact_not_the_company(pipeline: Pipeline) -> None:
    from datetime import timedelta

    from gateway.work.scheduler import tick

    _, notification = opened(pipeline, sender="dave@acme.test")
    engineer_answers(pipeline, notification, "#severity 1 whole LAN down\n#investigating\nLooking.")
    pipeline.clock.advance(timedelta(days=1, minutes=5))  # msa-enterprise level 1: a report every 24 h
    tick(pipeline.app, pipeline.sessions, pipeline.clock)
    pipeline.run_until_idle()
    [report] = mails(pipeline, "status")
    assert report.get_content().startswith("Dear Dave Tanaka,") and "Acme Ltd," not in report.get_content()
