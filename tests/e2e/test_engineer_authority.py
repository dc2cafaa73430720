"""Who may act on an incident by mail, tried as an attacker would, over real SMTP (issue 10).

A customer, a colleague of theirs or a stranger forges an engineer's From and
uses whatever token they can get; engineers answer from their client as usual.
Every mail the gateway sends is read from the relay sink, so what is checked is
what a mail client would show: Reply-To, subject, body.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest

from gateway import codes
from gateway.clock import FixedClock
from gateway.core.tokens import ENGINEER_TOKEN_PATTERN
from gateway.settings import Settings
from tests.conftest import T0
from tests.support.desk import SUPPORT, Desk, running_desk
from tests.support.mails import customer_mail
from tests.support.relay_sink import Received, RelaySink
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.example.test"
COLLEAGUE = "suzuki@vendor.example.test"  # an engineer too, by the [engineers] domain
QUEUE = "engineers@vendor.example.test"
DEV = "dev@vendor.example.test"  # the product-development escalation rung
TAM = "tam@partner.test"  # the TAM plan's TAM, not an engineer: what reaches them is customer mail
ALICE, BOB = "alice@example.test", "bob@example.test"
ERIN, FRANK = "erin@big.test", "frank@big.test"
MALLORY = "mallory@attacker.test"
ENGINEER_MAILBOXES = {ENGINEER, COLLEAGUE, QUEUE, DEV}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)  # Tuesday 10:00 JST


@pytest.fixture
def daemon_settings(make_settings, relay_sink: RelaySink) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(
        gateway={"work_process": False},  # the scheduler shares the test's clock
        relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
        engineers={"addresses": [ENGINEER], "domains": ["vendor.example.test"], "queue_address": QUEUE,
                   "locale": "en"},
        escalation={"product-development": [DEV]},
        customers=[
            {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "en",
             "domains": ["example.test"], "contacts": [ALICE, BOB]},
            {"key": "big", "name": "Big Corp", "plan": "tam", "locale": "en",
             "domains": ["big.test"], "contacts": [ERIN, FRANK], "tam": TAM},
        ])


@pytest.fixture
def desk(daemon_settings: Settings, relay_sink: RelaySink, clock: FixedClock) -> Iterator[Desk]:
    yield from running_desk(daemon_settings, relay_sink, clock)


def opened(desk: Desk, sender: str = ALICE, subject: str = "Backup fails") -> tuple[Received, Received]:
    """A contact opens an incident: return the acknowledgement and the queue's notice."""
    desk.send(sender, customer_mail(sender=sender, subject=subject, body="The nightly backup fails.\n"))
    mails = desk.next_mails(2)
    return next(m for m in mails if sender in m.rcpt_tos), desk.mail_to(mails, QUEUE)


def token_of(mail: Received) -> str:
    """The `INC-000001.e.token` (or customer `INC-000001.token`) detail of a mail's Reply-To."""
    return str(mail.message["Reply-To"]).split("+", 1)[1].split("@", 1)[0]


def forged(from_lines: list[str], to: str, body: str, *, subject: str = "Re: [INC-000001] Backup fails",
           in_reply_to: str | None = None) -> bytes:
    """Raw mail with exactly the From header fields given (EmailMessage would refuse two)."""
    headers = [*(f"From: {line}" for line in from_lines), f"To: {to}", f"Subject: {subject}",
               f"Message-ID: <{uuid.uuid4().hex}@attacker.test>", "Date: Tue, 24 Nov 2026 11:00:00 +0900",
               "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def incident_unchanged(desk: Desk, number: int = 1) -> bool:
    row = desk.incident(number)
    return (row.status, row.side, row.severity, row.assignee, row.resolution) == ("open", "vendor", 3, None, None)


def held_line(desk: Desk, why: str) -> Received:
    """The one mail an unverified reply causes: a line to the queue, naming the reason."""
    [line] = desk.next_mails(1)
    assert line.rcpt_tos == [QUEUE] and str(line.message["Subject"]).startswith("[INC-000001] Reply held")
    assert why in " ".join(line.message.get_content().split())
    return line


def nothing_more_sent(desk: Desk, count: int) -> bool:
    desk.wait(desk.all_processed)
    time.sleep(0.3)
    return len(desk.sink.messages) == count


def last_inbound(desk: Desk) -> tuple[str, str | None, str]:
    row = desk.inbound()[-1]
    return row.state, row.reason, row.detail or ""


# -- forged engineer replies -----------------------------------------------------------------------


def test_a_customer_forging_an_engineer_from_with_their_own_token_changes_nothing(desk: Desk) -> None:
    ack, _ = opened(desk)
    customer_address = str(ack.message["Reply-To"])  # support+INC-000001.<customer token>@…
    desk.send(ALICE, forged([ENGINEER], customer_address, f"#resolve fixed\n#severity 1 x\n#assign mallory\n"
                                                          f"#escalate\nDone.\n\nRef: {token_of(ack)}\n"))
    held_line(desk, "customer token, not an engineer token")
    assert last_inbound(desk)[:2] == (codes.QUARANTINED, codes.ENGINEER_UNVERIFIED)
    assert "customer token, not an engineer token" in last_inbound(desk)[2]
    assert incident_unchanged(desk) and nothing_more_sent(desk, 3)


def test_a_cc_d_colleague_cannot_act_with_the_token_from_his_copy(desk: Desk) -> None:
    ack, _ = opened(desk)
    # Alice answered the ack to all, Bob included: Bob now holds the ack's Reply-To and footer.
    alice_to_all = reply_to(ack.message, sender=ALICE, body="Adding Bob.", headers={"Cc": BOB})
    desk.send(ALICE, alice_to_all, to=str(ack.message["Reply-To"]))
    desk.next_mails(1)  # the queue hears of Alice's reply
    desk.send(BOB, forged([ENGINEER], str(ack.message["Reply-To"]), "#resolve answered\nSolved."))
    held_line(desk, "customer token, not an engineer token")
    assert incident_unchanged(desk) and nothing_more_sent(desk, 4)


@pytest.mark.parametrize("from_lines, why", [
    ([f"{ENGINEER}, {MALLORY}"], "2 From mailboxes"),
    ([f"Support team: {ENGINEER};"], "From in group syntax"),
    ([ENGINEER, MALLORY], "2 From headers"),
], ids=["two-mailboxes", "group-syntax", "two-from-headers"])
def test_a_from_naming_more_than_one_author_changes_nothing_even_with_a_leaked_engineer_token(
        desk: Desk, from_lines: list[str], why: str) -> None:
    _, notice = opened(desk)
    leaked = str(notice.message["Reply-To"])  # the real engineer address, as if a notice had leaked
    desk.send(MALLORY, forged(from_lines, leaked, "#resolve fixed\nAll done."))
    held_line(desk, why)
    assert why in last_inbound(desk)[2]
    assert incident_unchanged(desk) and nothing_more_sent(desk, 3)


@pytest.mark.parametrize("lookalike", [
    "yamada@vendor.example.test.evil", "yamada@vendor-example.test", "yamada@xn--vendr-q1d.example.test",
    "yamada@vend\u03bfr.example.test",  # a Greek omicron
    '"yamada@vendor.example.test" <mallory@attacker.test>',
], ids=["suffix", "hyphen", "punycode", "unicode", "display-name"])
def test_a_lookalike_engineer_address_is_a_stranger_and_is_answered_by_nobody(desk: Desk, lookalike: str) -> None:
    _, notice = opened(desk)
    desk.send(MALLORY, forged([lookalike], str(notice.message["Reply-To"]), "#resolve fixed\nAll done."))
    desk.wait(desk.all_processed)
    state, reason, _ = last_inbound(desk)
    assert state == codes.QUARANTINED and reason != codes.ENGINEER_REPLIED
    assert incident_unchanged(desk) and nothing_more_sent(desk, 2)


def test_an_engineer_token_of_one_incident_does_not_work_on_another(desk: Desk) -> None:
    _, first_notice = opened(desk)
    opened(desk, subject="Login fails")
    token = token_of(first_notice).split(".e.", 1)[1]
    other = f"support+INC-000002.e.{token}@support.example.test"
    desk.send(ENGINEER, forged([ENGINEER], other, f"#resolve fixed\nDone.\n\nINC-000002.e.{token}\n",
                               subject="Re: [INC-000002] Login fails"))
    [line] = desk.next_mails(1)
    assert line.rcpt_tos == [QUEUE] and "engineer token not valid for INC-000002" in line.message.get_content()
    assert incident_unchanged(desk, 1) and incident_unchanged(desk, 2) and nothing_more_sent(desk, 5)


def test_a_personal_engineer_token_works_for_its_engineer_only(desk: Desk) -> None:
    _, notice = opened(desk)
    desk.send(ENGINEER, reply_to(notice.message, sender=ENGINEER, body="#severty 2 typo"),
              to=str(notice.message["Reply-To"]))
    [error] = desk.next_mails(1)
    assert error.rcpt_tos == [ENGINEER] and ".e." in token_of(error) and token_of(error) != token_of(notice)
    desk.send(COLLEAGUE, reply_to(error.message, sender=COLLEAGUE, body="#resolve fixed\nDone."),
              to=str(error.message["Reply-To"]))
    [line] = desk.next_mails(1)
    assert line.rcpt_tos == [QUEUE] and "to another recipient" in " ".join(line.message.get_content().split())
    assert incident_unchanged(desk)
    desk.send(ENGINEER, reply_to(error.message, sender=ENGINEER, body="#investigating\nWe are looking into it."),
              to=str(error.message["Reply-To"]))
    [relay] = desk.next_mails(1)
    assert relay.rcpt_tos == [ALICE] and "We are looking into it." in relay.message.get_content()


def test_a_real_engineer_reply_with_the_engineer_token_applies_commands_and_relays_the_answer(desk: Desk) -> None:
    _, notice = opened(desk)
    assert re.fullmatch(r"INC-000001\.e\.[a-z2-7]{16}", token_of(notice))
    desk.send(ENGINEER, reply_to(notice.message, sender=ENGINEER, style="outlook-en",
                                 body="#severity 2 the whole office is affected\nPlease restart the agent."),
              to=str(notice.message["Reply-To"]))
    mails = desk.next_mails(4)  # severity change and answer to ALICE, the confirmation, the answer's queue copy
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted([ALICE, ALICE, ENGINEER, QUEUE])
    assert any("Please restart the agent." in m.message.get_content() for m in mails)
    assert desk.incident(1).severity == 2 and desk.incident(1).side == "customer"
    assert last_inbound(desk)[:2] == (codes.PROCESSED, codes.ENGINEER_REPLIED)


# -- item 8: a screenshot with a command error -----------------------------------------------------


def test_an_engineer_reply_that_is_only_a_screenshot_and_a_wrong_command_gets_the_command_error(desk: Desk) -> None:
    _, notice = opened(desk)
    reply = EmailMessage()
    reply["From"], reply["To"] = ENGINEER, str(notice.message["Reply-To"])
    reply["Subject"], reply["In-Reply-To"] = f"Re: {notice.message['Subject']}", str(notice.message["Message-ID"])
    reply.set_content("#severity 9\n")  # files alone are relayed (issue 11); a wrong command holds them back
    reply.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, maintype="image", subtype="png",
                         filename="screenshot.png")
    desk.send(ENGINEER, reply.as_bytes(policy=policy.SMTP), to=str(notice.message["Reply-To"]))
    [error] = desk.next_mails(1)
    assert error.rcpt_tos == [ENGINEER] and "Command not accepted" in str(error.message["Subject"])
    assert "#severity 9" in error.message.get_content()
    assert last_inbound(desk)[:2] == (codes.PROCESSED, codes.COMMAND_ERROR) and incident_unchanged(desk)


# -- header anomalies of a contact's mail: flagged, shown, not refused -------------------------------


@pytest.mark.parametrize("headers, flags", [
    ([f"From: {ALICE}", "Sender: someone@elsewhere.test"], [codes.SENDER_NOT_FROM]),
    ([f"From: {ALICE}", f"From: {MALLORY}"], [codes.SEVERAL_FROM_HEADERS, codes.SEVERAL_FROM_MAILBOXES]),
    ([f"From: Staff: {ALICE};"], [codes.FROM_GROUP]),
], ids=["sender-not-from", "two-from-headers", "group"])
def test_a_contacts_mail_with_header_anomalies_opens_an_incident_and_the_notice_warns(
        desk: Desk, headers: list[str], flags: list[str]) -> None:
    raw = "\r\n".join([*headers, f"To: {SUPPORT}", "Subject: Backup fails", "Message-ID: <a1@example.test>",
                       "Content-Type: text/plain; charset=utf-8", "", "The backup fails.", ""]).encode()
    desk.send(ALICE, raw)
    notice = desk.mail_to(desk.next_mails(2), QUEUE)
    body = notice.message.get_content()
    assert all(f"({flag})" in body for flag in flags) and "Warning:" in body
    assert desk.inbound()[-1].anomalies == flags and desk.incident(1).opened_by == ALICE


# -- nothing customer-facing carries an engineer token ---------------------------------------------


def test_no_mail_to_anyone_but_an_engineer_mailbox_ever_carries_an_engineer_token(
        desk: Desk, clock: FixedClock) -> None:
    ack, notice = opened(desk, sender=ERIN)  # the tam plan: the TAM is copied on everything
    assert set(ack.rcpt_tos) == {ERIN, TAM}
    pasted = token_of(notice)
    desk.send(ENGINEER, reply_to(notice.message, sender=ENGINEER,
                                 body=f"#severity 1 down\n#investigating\n#escalate\nWe are on it (ref {pasted})."),
              to=str(notice.message["Reply-To"]))
    # severity change, escalation to DEV and to the TAM, answer, its queue copy, the engineer's confirmation
    answers = desk.next_mails(6)
    relay = next(m for m in answers if "We are on it" in m.message.get_content() and ERIN in m.rcpt_tos)
    assert "INC-000001" in relay.message.get_content() and pasted not in relay.message.get_content()
    clock.advance(timedelta(hours=2, minutes=5))  # severity 1 on the vendor side: a status report every 2 h
    desk.wait(lambda: any("Status report" in str(m.message["Subject"]) for m in desk.sink.messages))
    desk.send(ERIN, reply_to(relay.message, sender=ERIN, body="It is back up, thanks.", headers={"Cc": FRANK}))
    desk.wait(lambda: sum(m.rcpt_tos == [QUEUE] for m in desk.sink.messages) == 3)  # notice, answer copy, reply
    reply_notice = [m for m in desk.sink.messages if m.rcpt_tos == [QUEUE]][-1]
    desk.send(ENGINEER, reply_to(reply_notice.message, sender=ENGINEER, body="#resolve fixed\nGood to hear."),
              to=str(reply_notice.message["Reply-To"]))
    desk.wait(lambda: desk.incident(1).status == "resolved")
    desk.wait(lambda: any("Resolved:" in str(m.message["Subject"]) for m in desk.sink.messages))
    assert nothing_more_sent(desk, len(desk.sink.messages))
    customer_facing = [m for m in desk.sink.messages if not set(m.rcpt_tos) <= ENGINEER_MAILBOXES]
    assert {r for m in customer_facing for r in m.rcpt_tos} == {ERIN, TAM}
    assert len(customer_facing) >= 6  # ack, severity change, escalation copy, relay, status, resolution
    for mail in customer_facing:
        shown = mail.raw.decode("ascii", "replace") + mail.message.get_content()
        assert not ENGINEER_TOKEN_PATTERN.search(shown) and ".e." not in str(mail.message["Reply-To"])
    for mail in desk.sink.messages:
        if set(mail.rcpt_tos) <= ENGINEER_MAILBOXES:
            assert len(mail.rcpt_tos) == 1 and ENGINEER_TOKEN_PATTERN.search(str(mail.message["Reply-To"]))
