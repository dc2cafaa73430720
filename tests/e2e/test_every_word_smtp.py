"""Every word an engineer writes goes somewhere visible, over real SMTP (issue 11, part B).

The daemon runs with a real SMTP listener and relays to a real aiosmtpd sink;
the engineer answers the queue's notice from a mail client, with the engineer
token its Reply-To carries. What is checked is what each reader's client shows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.clock import FixedClock
from gateway.settings import Settings
from tests.conftest import T0
from tests.support.desk import Desk, running_desk
from tests.support.mails import customer_mail
from tests.support.relay_sink import Received, RelaySink
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.example.test"
QUEUE = "engineers@vendor.example.test"
ALICE = "alice@example.test"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def daemon_settings(make_settings, relay_sink: RelaySink) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(
        gateway={"work_process": False},
        relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
        customers=[{"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "en",
                    "domains": ["example.test"], "contacts": [ALICE]}])


@pytest.fixture
def desk(daemon_settings: Settings, relay_sink: RelaySink, clock: FixedClock) -> Iterator[Desk]:
    yield from running_desk(daemon_settings, relay_sink, clock)


def opened(desk: Desk) -> Received:
    """Alice opens an incident; return the queue's notice (the engineer answers it)."""
    desk.send(ALICE, customer_mail(sender=ALICE, subject="Backup fails", body="The nightly backup fails.\n"))
    return desk.mail_to(desk.next_mails(2), QUEUE)


def engineer_writes(desk: Desk, notice: Received, body: str, count: int) -> list[Received]:
    desk.send(ENGINEER, reply_to(notice.message, sender=ENGINEER, body=body), to=str(notice.message["Reply-To"]))
    return desk.next_mails(count)


def text(mail: Received) -> str:
    return " ".join(mail.message.get_content().split())


def test_waiting_with_a_question_reaches_the_customer_and_the_engineer_is_told_the_side(desk: Desk) -> None:
    notice = opened(desk)
    mails = engineer_writes(desk, notice, "#waiting\nCould you send us the agent log?", 3)  # + the queue's copy
    relay, confirmation = desk.mail_to(mails, ALICE), desk.mail_to(mails, ENGINEER)
    assert "Could you send us the agent log?" in text(relay)
    assert relay.message["Auto-Submitted"] is None and relay.message["X-Auto-Response-Suppress"] is None
    assert "on the customer side" in text(confirmation) and "#investigating" in text(confirmation)
    assert desk.incident(1).side == "customer"


def test_a_bad_command_returns_the_text_to_the_engineer_with_what_was_not_applied(desk: Desk) -> None:
    notice = opened(desk)
    [error] = engineer_writes(desk, notice, "#assign suzuki\n#severty 2\nPlease restart the agent.", 1)
    assert error.rcpt_tos == [ENGINEER] and "Command not accepted" in str(error.message["Subject"])
    assert "Not applied: #assign suzuki" in text(error) and "Please restart the agent." in text(error)
    assert desk.incident(1).assignee is None and desk.incident(1).side == "vendor"


def test_a_bare_severity_1_is_applied_and_the_confirmation_asks_for_a_reason(desk: Desk) -> None:
    notice = opened(desk)
    mails = engineer_writes(desk, notice, "#severity 1", 2)
    changed, confirmation = desk.mail_to(mails, ALICE), desk.mail_to(mails, ENGINEER)
    assert "Severity changed to 1" in str(changed.message["Subject"])
    assert "without a reason" in text(confirmation) and "is on our side" in text(confirmation)
    assert desk.incident(1).severity == 1


def test_reopen_brings_a_resolved_incident_back_and_tells_the_customer(desk: Desk) -> None:
    notice = opened(desk)
    engineer_writes(desk, notice, "#resolve fixed\nPatch 10.2.1 fixes it.", 3)  # resolved, its queue copy, confirmed
    assert desk.incident(1).status == "resolved"
    mails = engineer_writes(desk, notice, "#reopen the patch fails on Windows\nWe are on it again.", 3)
    reopened, confirmation = desk.mail_to(mails, ALICE), desk.mail_to(mails, ENGINEER)
    assert "Reopened" in str(reopened.message["Subject"]) and "We are on it again." in text(reopened)
    assert "is on our side" in text(confirmation)
    assert (desk.incident(1).status, desk.incident(1).side, desk.incident(1).resolution) == ("open", "vendor", None)


def test_a_note_reaches_the_queue_and_never_the_customer(desk: Desk) -> None:
    notice = opened(desk)
    mails = engineer_writes(desk, notice, "#note\nCustomer runs an unsupported OS.", 2)
    note, confirmation = desk.mail_to(mails, QUEUE), desk.mail_to(mails, ENGINEER)
    assert "Customer runs an unsupported OS." in text(note) and "not sent to the customer" in text(note)
    assert "copied to the engineers' queue" in text(confirmation)
    desk.wait(desk.all_processed)
    assert not any(ALICE in m.rcpt_tos and "unsupported OS" in m.message.get_content()
                   for m in desk.sink.messages)
