"""Whole threads through the real daemon: smtplib → SMTP intake → processing → relay sink, and back.

A customer, the gateway and an engineer write to each other as in real life;
every mail the gateway sends is taken from the relay sink and answered from
there, so threading headers, Reply-To tokens and footers are what a client sees.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from gateway.settings import Settings
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage
from store.incidents import Incident, IncidentEvent
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.relay_sink import Received, RelaySink
from tests.support.replies import reply_to

SUPPORT = "support@support.example.test"
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


class Desk:
    """The people around the gateway: they send over SMTP and read what reaches the relay sink."""

    def __init__(self, daemon: RunningDaemon, sink: RelaySink, settings: Settings) -> None:
        self.daemon, self.sink = daemon, sink
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)

    def send(self, sender: str, raw: bytes, to: str = SUPPORT) -> None:
        with smtplib.SMTP("127.0.0.1", self.daemon.port, timeout=10) as client:
            client.sendmail(sender, [to], raw)

    def next_mails(self, count: int) -> list[Received]:
        seen = len(self._taken)
        mails = self.sink.wait_for(seen + count, timeout=15)[seen:seen + count]
        self._taken.extend(mails)
        return mails

    def mail_to(self, mails: list[Received], address: str) -> Received:
        return next(m for m in mails if m.rcpt_tos == [address])

    def wait(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not reached")

    def all_processed(self) -> bool:
        with self.sessions() as session:
            return all(s != "received" for s in session.scalars(select(InboundMessage.state)))

    def incident(self, number: int) -> Incident:
        with self.sessions() as session:
            row = session.scalar(select(Incident).where(Incident.number == number))
            assert row is not None
            return row

    def sides(self, number: int = 1) -> list[str]:
        with self.sessions() as session:
            rows = session.scalars(select(IncidentEvent).join(Incident).where(
                Incident.number == number, IncidentEvent.type == "side").order_by(IncidentEvent.id))
            return [row.data["side"] for row in rows]

    _taken: list[Received]


@pytest.fixture
def desk(daemon: RunningDaemon, relay_sink: RelaySink, daemon_settings: Settings) -> Iterator[Desk]:
    desk = Desk(daemon, relay_sink, daemon_settings)
    desk._taken = []
    yield desk
    desk.engine.dispose()


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
    [question] = desk.next_mails(1)
    assert question.rcpt_tos == [CUSTOMER]
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
    [resolved] = desk.next_mails(1)
    assert resolved.rcpt_tos == [CUSTOMER]
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
    time.sleep(0.3)
    assert len(desk.sink.messages) == 2


def test_full_width_commands_work_through_the_whole_path(desk: Desk) -> None:
    desk.send(CUSTOMER, customer_mail(sender=CUSTOMER))
    notification = desk.mail_to(desk.next_mails(2), QUEUE)
    desk.send(ENGINEER, reply_to(notification.message, sender=ENGINEER, style="outlook-ja",
                                 body="＃ｓｅｖｅｒｉｔｙ　２　業務への影響が大きいため\n＃ｉｎｖｅｓｔｉｇａｔｉｎｇ\n調査中です。"),
              to=str(notification.message["Reply-To"]))
    mails = desk.next_mails(2)
    subjects = sorted(str(m.message["Subject"]) for m in mails)
    assert subjects[0].startswith("Re: [INC-000001]") and "Severity changed to 2" in subjects[1]
    assert all(m.rcpt_tos == [CUSTOMER] for m in mails)
    assert desk.incident(1).severity == 2 and desk.incident(1).side == "vendor"
