"""Whole threads through the real daemon: smtplib → SMTP intake → processing → relay sink, and back.

A customer, the gateway and an engineer write to each other as in real life;
every mail the gateway sends is taken from the relay sink and answered from
there, so threading headers, Reply-To tokens and footers are what a client sees.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gateway.settings import Settings
from tests.support.daemon import RunningDaemon
from tests.support.desk import SUPPORT, Desk
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink
from tests.support.replies import reply_to

CUSTOMER = "carol@acme.test"
ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"


@pytest.fixture
def daemon_settings(make_settings, relay_sink: RelaySink) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                         engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"})


@pytest.fixture
def daemon(daemon_settings: Settings) -> Iterator[RunningDaemon]:
    running = RunningDaemon(daemon_settings).start()
    yield running
    running.stop()


@pytest.fixture
def desk(daemon: RunningDaemon, relay_sink: RelaySink, daemon_settings: Settings) -> Iterator[Desk]:
    desk = Desk(daemon, relay_sink, daemon_settings)
    yield desk
    desk.close()


def test_a_whole_conversation_from_first_mail_to_a_recurrence(desk: Desk) -> None:
    # The customer opens an incident: an ack for them, a notification for the engineers.
    desk.send(CUSTOMER, customer_mail(sender=CUSTOMER, subject="Backup fails", message_id="<q1@acme.test>",
                                      body="The nightly backup fails with E42.\n"))
    first = desk.next_mails(2)
    ack, notification = desk.mail_to(first, CUSTOMER), desk.mail_to(first, QUEUE)
    assert ack.message["Subject"].startswith("[INC-000001]")
    assert "The nightly backup fails with E42." in notification.message.get_content()
    assert desk.incident(1).side == "vendor"

    # The engineer asks a question from their mail client: relayed, the customer's move now.
    engineer_to = str(notification.message["Reply-To"])
    desk.send(ENGINEER, reply_to(notification.message, sender=ENGINEER, style="outlook-en",
                                 body="Could you send us the backup log?\n\n-- \nYamada"), to=engineer_to)
    question, copy = desk.next_mails(2)  # the answer, then its copy in the engineers' thread (issue 11)
    assert question.rcpt_tos == [CUSTOMER] and copy.rcpt_tos == [QUEUE]
    assert "Could you send us the backup log?" in copy.message.get_content()
    assert question.message["In-Reply-To"] == "<q1@acme.test>"
    body = question.message.get_content()
    assert "Could you send us the backup log?" in body and "Yamada" not in body and "Original Message" not in body
    assert desk.incident(1).side == "customer"

    # The customer's out-of-office answers first: nothing moves, nobody is written to.
    desk.send(CUSTOMER, reply_to(question.message, sender=CUSTOMER, body="I am away until Monday.",
                                 subject="Automatic reply: " + str(question.message["Subject"]),
                                 headers={"Auto-Submitted": "auto-replied"}))
    desk.wait(desk.all_processed)
    assert desk.incident(1).side == "customer" and desk.sides() == ["customer"]

    # The customer answers: the incident is the vendor's again, and the engineers see the answer.
    desk.send(CUSTOMER, reply_to(question.message, sender=CUSTOMER, body="Log attached: E42 at 02:00."))
    [reply_notice] = desk.next_mails(1)
    assert reply_notice.rcpt_tos == [QUEUE] and "Log attached: E42 at 02:00." in reply_notice.message.get_content()
    assert desk.incident(1).side == "vendor" and desk.sides() == ["customer", "vendor"]

    # The engineer resolves it: the customer is told why.
    desk.send(ENGINEER, reply_to(reply_notice.message, sender=ENGINEER, style="gmail",
                                 body="#resolve fixed\nPatch 10.2.1 fixes E42."),
              to=str(reply_notice.message["Reply-To"]))
    resolved, copy = desk.next_mails(2)
    assert resolved.rcpt_tos == [CUSTOMER] and copy.rcpt_tos == [QUEUE]
    assert "has been fixed" in resolved.message.get_content() and "Patch 10.2.1" in resolved.message.get_content()
    assert (desk.incident(1).status, desk.incident(1).resolution) == ("resolved", "fixed")

    # The customer replies to the resolved incident: a new incident, linked, and they are told so.
    desk.send(CUSTOMER, reply_to(resolved.message, sender=CUSTOMER, body="E42 is back since last night."))
    recurrence = desk.next_mails(2)
    new_ack = desk.mail_to(recurrence, CUSTOMER)
    assert new_ack.message["Subject"].startswith("[INC-000002]")
    assert "linked to INC-000001" in new_ack.message.get_content()
    assert desk.incident(2).linked_to_id == desk.incident(1).id
    assert desk.incident(1).status == "resolved"


def test_a_forged_engineer_reply_without_the_token_changes_nothing(desk: Desk) -> None:
    desk.send(CUSTOMER, customer_mail(sender=CUSTOMER))
    notification = desk.mail_to(desk.next_mails(2), QUEUE)
    forged = reply_to(notification.message, sender=ENGINEER, body="#resolve answered\nDone.", style="",
                      to=SUPPORT)
    desk.send(ENGINEER, forged)
    desk.wait(desk.all_processed)
    assert (desk.incident(1).status, desk.incident(1).side) == ("open", "vendor")
    [held_line] = desk.next_mails(1)  # issue 10: the queue hears a reply was held; nobody else hears anything
    assert held_line.rcpt_tos == [QUEUE] and "Reply held" in str(held_line.message["Subject"])
    time.sleep(0.3)
    assert len(desk.sink.messages) == 3


def test_full_width_commands_work_through_the_whole_path(desk: Desk) -> None:
    desk.send(CUSTOMER, customer_mail(sender=CUSTOMER))
    notification = desk.mail_to(desk.next_mails(2), QUEUE)
    desk.send(ENGINEER, reply_to(notification.message, sender=ENGINEER, style="outlook-ja",
                                 body="＃ｓｅｖｅｒｉｔｙ　２　業務への影響が大きいため\n＃ｉｎｖｅｓｔｉｇａｔｉｎｇ\n調査中です。"),
              to=str(notification.message["Reply-To"]))
    mails = desk.next_mails(4)  # severity change and answer to the customer, the confirmation, the queue's copy
    assert desk.mail_to(mails, ENGINEER).message["Subject"].startswith("[INC-000001] ")
    mails = [m for m in mails if m.rcpt_tos == [CUSTOMER]]
    subjects = sorted(str(m.message["Subject"]) for m in mails)
    assert subjects[0].startswith("Re: [INC-000001]") and "Severity changed to 2" in subjects[1]
    assert len(mails) == 2
    assert desk.incident(1).severity == 2 and desk.incident(1).side == "vendor"
