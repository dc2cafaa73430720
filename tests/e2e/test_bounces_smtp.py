"""Bounces over real SMTP (issue 13, "Bounces change incidents"): the DSN a relay's MTA returns
reaches the running daemon like any mail, with the null reverse-path (RFC 5321 §4.5.5), and what the
gateway then sends is read from the relay sink, as the engineers' mail client would show it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

import pytest

from gateway.clock import FixedClock
from gateway.ops.customers import _read as customers_read
from gateway.settings import Settings
from store.bounces import BouncedAddress
from tests.conftest import T0
from tests.support.daemon import RunningDaemon
from tests.support.desk import Desk
from tests.support.mails import customer_mail, postfix_dsn
from tests.support.relay_sink import Received, RelaySink

QUEUE = "engineers@vendor.example.test"
ENGINEER = "yamada@vendor.example.test"
ALICE = "alice@example.test"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def desk(make_settings, relay_sink: RelaySink, clock: FixedClock) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(
        gateway={"work_process": False},
        relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"})
    running = RunningDaemon(settings, clock=clock).start()
    desk = Desk(running, relay_sink, settings)
    yield desk
    desk.close()
    running.stop()


def returned(letter: Received, recipient: str = ALICE) -> bytes:
    """What Postfix sends back for a letter the customer's MX refused."""
    return postfix_dsn(letter.message["Message-ID"].strip("<>"), recipient, str(letter.message["Subject"]))


def open_incident(desk: Desk, subject: str) -> Received:
    """Alice writes; return the acknowledgement she was sent (the queue's notice is taken too)."""
    desk.send(ALICE, customer_mail(sender=ALICE, subject=subject, body="The nightly backup fails.\n"))
    mails = desk.next_mails(2)
    return next(m for m in mails if m.rcpt_tos == [ALICE])


def test_a_bounced_acknowledgement_reaches_the_engineers_in_the_incidents_thread(desk: Desk) -> None:
    ack = open_incident(desk, "Backup fails")

    desk.send("", returned(ack))

    [notice] = desk.next_mails(1)
    assert notice.rcpt_tos == [QUEUE]
    assert notice.message["In-Reply-To"] == ack.message["Message-ID"]
    assert "INC-000001" in notice.message["Subject"] and "Bounced" in notice.message["Subject"]
    body = notice.message.get_body(preferencelist=("plain",)).get_content()
    assert ALICE in body and "5.1.1" in body
    assert desk.incident(1).side == "vendor"  # the bounce moved nothing


def test_after_the_third_hard_bounce_the_address_gets_no_more_automatic_mail(
        desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    for number in (1, 2, 3):
        ack = open_incident(desk, f"Problem {number}")
        desk.send("", returned(ack))
        [notice] = desk.next_mails(1)
        assert notice.rcpt_tos == [QUEUE]
    assert "automatic mail to it stops" in notice.message.get_body(preferencelist=("plain",)).get_content()

    desk.send(ALICE, customer_mail(sender=ALICE, subject="Problem 4", body="Still failing.\n"))
    [only] = desk.next_mails(1)
    desk.wait(desk.all_processed)

    assert only.rcpt_tos == [QUEUE] and "INC-000004" in only.message["Subject"]
    time.sleep(1.0)  # the sender's retry step would have sent an acknowledgement by now
    assert [m.rcpt_tos for m in desk.sink.messages[-1:]] == [[QUEUE]]  # nothing to Alice after it
    with desk.sessions() as session:
        row = session.get(BouncedAddress, ALICE)
        assert row is not None and row.hard_bounces == 3 and row.suppressed_at is not None
        customers_read(session, argparse.Namespace(customers_command="show", key="demo", json=True))
    shown = json.loads(capsys.readouterr().out)
    assert shown["bounced"][0]["address"] == ALICE
