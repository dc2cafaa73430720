"""Bounces change incidents; auto-replies and list mail do what issue 13 says, on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import json
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.customers import _change as customers_change, _read as customers_read
from gateway.work.directory import DirectoryError
from store.bounces import BouncedAddress
from store.incidents import Incident, IncidentEvent, IncidentMessage
from tests.support.mails import customer_mail, postfix_dsn
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
ALICE = "alice@example.test"


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"})
    return Pipeline(build_app(settings), sessions, clock)


def mails(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(path) for path in pipeline.sent_files() if f"-{kind}-" in path.name]


def dsn(returned_message_id: str, recipient: str = ALICE) -> bytes:
    return postfix_dsn(returned_message_id, recipient)


def bounce_three_acks(pipeline: Pipeline) -> None:
    """Alice opens three incidents and each acknowledgement bounces hard: automatic mail to her stops."""
    for number in (1, 2, 3):
        pipeline.accept(customer_mail(subject=f"Problem {number}"))
        pipeline.run_until_idle()
        pipeline.accept(dsn(ack_id(pipeline, number)), mail_from="")
        pipeline.run_until_idle()


def ack_id(pipeline: Pipeline, number: int) -> str:
    return next(r.message_id for r in pipeline.outbox() if r.kind == codes.KIND_ACK and r.incident_id == number)


def test_a_bounced_acknowledgement_is_recorded_on_its_letter_and_the_engineers_see_it_in_the_thread(
        pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    letter = ack_id(pipeline, 1)
    bounce = pipeline.accept(dsn(letter), mail_from="")
    pipeline.run_until_idle()

    inbound = pipeline.inbound(bounce.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.PROCESSED, codes.BOUNCE_RECORDED)
    [row] = [r for r in pipeline.outbox() if r.message_id == letter]
    assert row.state == codes.OUT_BOUNCED and "5.1.1" in (row.last_error or "")
    with pipeline.sessions() as session:
        [event] = session.scalars(select(IncidentEvent).where(IncidentEvent.type == "bounced")).all()
        directions = list(session.scalars(select(IncidentMessage.direction).order_by(IncidentMessage.id)))
    assert event.data["recipients"][0]["address"] == ALICE and event.data["message_id"] == letter
    assert "bounce" in directions
    [notice] = mails(pipeline, codes.KIND_BOUNCED)
    assert notice["To"] == QUEUE and notice["In-Reply-To"] == f"<{letter}>"
    assert "Bounced" in notice["Subject"] and ALICE in notice.get_content() and "5.1.1" in notice.get_content()
    assert pipeline.incidents()[0].side == "vendor"  # a bounce moves nothing


def test_the_third_hard_bounce_stops_automatic_mail_to_the_address_and_customers_show_lists_it(
        pipeline: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    bounce_three_acks(pipeline)
    third = mails(pipeline, codes.KIND_BOUNCED)[-1].get_content()
    assert "automatic mail to it stops" in third
    sent_before = len(pipeline.sent_files())

    pipeline.accept(customer_mail(subject="Problem 4"))
    pipeline.run_until_idle()

    fourth = [r for r in pipeline.outbox() if r.incident_id == 4]
    assert {r.kind: r.state for r in fourth} == {codes.KIND_ACK: codes.OUT_SUPPRESSED,
                                                 codes.KIND_NOTIFY: codes.OUT_SENT}
    assert len(pipeline.sent_files()) == sent_before + 1  # only the engineers' notice left
    with pipeline.sessions() as session:
        row = session.get(BouncedAddress, ALICE)
        assert row is not None and row.hard_bounces == 3 and row.suppressed_at is not None
        customers_read(session, argparse.Namespace(customers_command="show", key="demo", json=True))
    shown = json.loads(capsys.readouterr().out)
    assert shown["bounced"][0]["address"] == ALICE and shown["bounced"][0]["suppressed_at"]


def test_resume_mail_lets_automatic_mail_reach_a_repaired_address_again(pipeline: Pipeline) -> None:
    bounce_three_acks(pipeline)

    with pipeline.sessions.begin() as session:
        said = customers_change(session, pipeline.app.settings,
                                argparse.Namespace(customers_command="resume-mail", address=ALICE.upper()),
                                pipeline.clock.now())
    pipeline.accept(customer_mail(subject="Problem 4"))
    pipeline.run_until_idle()

    assert "3 hard" in said and "goes out again" in said
    assert {r.kind: r.state for r in pipeline.outbox() if r.incident_id == 4} == {
        codes.KIND_ACK: codes.OUT_SENT, codes.KIND_NOTIFY: codes.OUT_SENT}
    with pipeline.sessions.begin() as session, pytest.raises(DirectoryError, match="no recorded bounces"):
        customers_change(session, pipeline.app.settings,
                         argparse.Namespace(customers_command="resume-mail", address=ALICE), pipeline.clock.now())


def test_an_engineers_answer_still_reaches_an_address_whose_automatic_mail_stopped(pipeline: Pipeline) -> None:
    bounce_three_acks(pipeline)
    notification = mails(pipeline, codes.KIND_NOTIFY)[0]
    pipeline.accept(reply_to(notification, sender=ENGINEER, body="Please send the log."), mail_from=ENGINEER,
                    rcpt_tos=(str(notification["Reply-To"]),))
    pipeline.run_until_idle()
    assert [r.state for r in pipeline.outbox() if r.kind == codes.KIND_RELAY] == [codes.OUT_SENT]


def test_an_out_of_office_reply_without_auto_submitted_does_not_move_the_incident(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    notification = mails(pipeline, codes.KIND_NOTIFY)[0]
    pipeline.accept(reply_to(notification, sender=ENGINEER, body="Which version do you run?"), mail_from=ENGINEER,
                    rcpt_tos=(str(notification["Reply-To"]),))
    pipeline.run_until_idle()
    [relay] = mails(pipeline, codes.KIND_RELAY)
    assert pipeline.incidents()[0].side == "customer"

    away = reply_to(relay, sender=ALICE, body="I am on holiday until Monday.",
                    subject=f"Out of Office: {relay['Subject']}")
    accepted = pipeline.accept(away)
    pipeline.run_until_idle()

    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.IGNORED, codes.AUTO_REPLY_SUBJECT)
    assert pipeline.incidents()[0].side == "customer"
    assert len(mails(pipeline, codes.KIND_NOTIFY)) == 1


def test_list_mail_from_a_contact_opens_an_incident_without_an_acknowledgement_and_the_notice_says_so(
        pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(subject="[ops] Backup failed again", headers={
        "List-Id": "Ops team <ops.lists.example.test>", "Precedence": "list"}))
    pipeline.run_until_idle()

    assert pipeline.inbound(accepted.inbound_id).reason == codes.INCIDENT_OPENED
    [incident] = pipeline.incidents()
    assert [r.kind for r in pipeline.outbox()] == [codes.KIND_NOTIFY]
    assert "No acknowledgement was sent" in mails(pipeline, codes.KIND_NOTIFY)[0].get_content()
    assert incident.opened_by == ALICE


def test_list_mail_from_a_stranger_stays_ignored(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(sender="news@lists.other.test", headers={"List-Id": "<x.other.test>"}),
                               mail_from="news@lists.other.test")
    pipeline.run_until_idle()
    assert (pipeline.inbound(accepted.inbound_id).state, pipeline.incidents()) == (codes.IGNORED, [])


def test_a_mail_over_a_limit_is_quarantined_with_the_limits_reason(make_settings, sessions,  # type: ignore[no-untyped-def]
                                                                  clock: FixedClock) -> None:
    pipeline = Pipeline(build_app(make_settings(mail={"max_attachments": 2})), sessions, clock)
    parts = "".join("--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n" for _ in range(4))
    raw = (f"From: {ALICE}\r\nSubject: many\r\nMessage-ID: <many@example.test>\r\n"
           f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n").encode()
    accepted = pipeline.accept(raw)
    pipeline.run_until_idle()
    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.QUARANTINED, codes.TOO_MANY_ATTACHMENTS)
    with pipeline.sessions() as session:
        assert session.scalars(select(Incident)).all() == []
