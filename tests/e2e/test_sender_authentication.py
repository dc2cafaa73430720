"""`[authentication]` over real SMTP (issue 10): forged and trusted Authentication-Results, DKIM against a local key.

The daemon runs for real (aiosmtpd intake, work process, relay sink); DKIM keys are answered
from a local zone file, the one seam (`dns_zone_file`). Mail is signed here with dkimpy, as the
customer's or the vendor's outgoing MTA would sign it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway import codes
from gateway.ops.views import show_inbound
from gateway.settings import Settings
from store.inbound import InboundMessage
from tests.e2e.test_conversation_suite import Desk
from tests.support.daemon import RunningDaemon
from tests.support.dkim_signing import signed, write_zone
from tests.support.mails import customer_mail
from tests.support.relay_sink import Received, RelaySink
from tests.support.replies import reply_to

CUSTOMER = "carol@acme.test"
ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
MTA = "mx.vendor.example"


def auth_settings(make_settings: Any, sink: RelaySink, tmp_path: Path, **authentication: Any) -> Settings:
    zone = write_zone(tmp_path / "keys.zone", {"acme.test": "a", "vendor.test": "a"})
    return make_settings(
        relay={"host": "127.0.0.1", "port": sink.port, "timeout": 5},
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
        authentication={"trusted_authserv_ids": [MTA], "verify": "dkim", "dns_zone_file": str(zone),
                        **authentication})


def desk_for(settings: Settings, sink: RelaySink) -> Iterator[Desk]:
    daemon = RunningDaemon(settings).start()
    desk = Desk(daemon, sink, settings)
    desk._taken = []
    try:
        yield desk
    finally:
        desk.engine.dispose()
        daemon.stop()


@pytest.fixture
def desk(make_settings, relay_sink: RelaySink, tmp_path: Path) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    yield from desk_for(auth_settings(make_settings, relay_sink, tmp_path), relay_sink)


@pytest.fixture
def strict_desk(make_settings, relay_sink: RelaySink, tmp_path: Path) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    yield from desk_for(auth_settings(make_settings, relay_sink, tmp_path, customers="quarantine"), relay_sink)


def open_incident(desk: Desk, **mail: Any) -> tuple[Received, Received]:
    """A signed customer mail opens INC-000001; return the ack and the engineers' notice."""
    desk.send(CUSTOMER, signed(customer_mail(sender=CUSTOMER, **mail), "acme.test"))
    first = desk.next_mails(2)
    return desk.mail_to(first, CUSTOMER), desk.mail_to(first, QUEUE)


def inbound_rows(desk: Desk) -> list[InboundMessage]:
    with desk.sessions() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def assert_held_and_nothing_sent(desk: Desk, reason: str) -> InboundMessage:
    desk.wait(desk.all_processed)
    held = inbound_rows(desk)[-1]
    assert (held.state, held.reason) == (codes.QUARANTINED, reason)
    time.sleep(0.3)  # nothing more reaches the relay: no answer to a forger, no notice
    assert len(desk.sink.messages) == len(desk._taken)
    return held


# -- engineers: require ----------------------------------------------------------------------------

def test_a_forged_authentication_results_from_an_untrusted_authserv_id_lets_no_engineer_act(desk: Desk) -> None:
    _, notice = open_incident(desk)
    forged = reply_to(notice.message, sender=ENGINEER, body="#resolve fixed\nDone.", headers={
        "Authentication-Results": "mx.attacker.test; dkim=pass header.d=vendor.test; dmarc=pass header.from=vendor.test"})
    desk.send(ENGINEER, forged, to=str(notice.message["Reply-To"]))
    held = assert_held_and_nothing_sent(desk, codes.ENGINEER_UNVERIFIED)
    assert held.detail is not None and held.detail.startswith("authentication: none")
    assert (desk.incident(1).status, desk.incident(1).side) == ("open", "vendor")


def test_a_trusted_authentication_results_with_dkim_pass_lets_an_engineer_reply(desk: Desk) -> None:
    _, notice = open_incident(desk)
    answer = reply_to(notice.message, sender=ENGINEER, body="Could you send us the log?", headers={
        "Authentication-Results": f"{MTA}; dkim=pass (2048-bit key) header.d=vendor.test header.s=s2026"})
    desk.send(ENGINEER, answer, to=str(notice.message["Reply-To"]))
    [relayed] = desk.next_mails(1)
    assert relayed.rcpt_tos == [CUSTOMER] and "Could you send us the log?" in relayed.message.get_content()
    assert desk.incident(1).side == "customer"
    assert inbound_rows(desk)[-1].authentication["summary"] == f"dkim=pass (vendor.test) by {MTA}"  # type: ignore[index]


def test_a_dkim_signed_engineer_reply_verified_against_the_local_key_is_applied(desk: Desk) -> None:
    _, notice = open_incident(desk)
    answer = reply_to(notice.message, sender=ENGINEER, style="outlook-en",
                      body="#severity 2 the whole site is down\nWe are on it.")
    desk.send(ENGINEER, signed(answer, "vendor.test"), to=str(notice.message["Reply-To"]))
    mails = desk.next_mails(4)  # severity change and answer, the engineer's confirmation, the answer's queue copy
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted([CUSTOMER, CUSTOMER, ENGINEER, QUEUE])
    assert desk.incident(1).severity == 2


def test_an_engineer_reply_altered_after_signing_is_held_and_changes_nothing(desk: Desk) -> None:
    _, notice = open_incident(desk)
    answer = signed(reply_to(notice.message, sender=ENGINEER, body="#resolve answered\nSee the manual."),
                    "vendor.test")
    desk.send(ENGINEER, answer.replace(b"See the manual.", b"Send me the admin password."),
              to=str(notice.message["Reply-To"]))
    held = assert_held_and_nothing_sent(desk, codes.ENGINEER_UNVERIFIED)
    assert held.detail == ("authentication: dkim=fail (vendor.test: body hash mismatch: "
                           "the body was changed after signing)")
    assert desk.incident(1).status == "open"


def test_an_unsigned_engineer_reply_with_the_token_is_held_and_changes_nothing(desk: Desk) -> None:
    _, notice = open_incident(desk)
    desk.send(ENGINEER, reply_to(notice.message, sender=ENGINEER, body="#escalate\n#assign mallory"),
              to=str(notice.message["Reply-To"]))
    assert_held_and_nothing_sent(desk, codes.ENGINEER_UNVERIFIED)
    incident = desk.incident(1)
    assert (incident.assignee, incident.status, incident.side) == (None, "open", "vendor")


# -- customers: record, quarantine -----------------------------------------------------------------

def test_customers_record_keeps_the_verdict_and_shows_it_in_the_engineers_notice(desk: Desk) -> None:
    _, notice = open_incident(desk)
    assert "Authentication: dkim=pass (acme.test)" in notice.message.get_content()
    stored = inbound_rows(desk)[0].authentication
    assert stored is not None and stored["passed"] is True and stored["domain"] == "acme.test"
    assert show_inbound(desk.sessions, inbound_rows(desk)[0].id)["authentication"] == "dkim=pass (acme.test)"  # type: ignore[index]

    tampered = signed(customer_mail(sender=CUSTOMER, subject="Second problem", body="Invoice attached.\n"),
                      "acme.test").replace(b"Invoice attached.", b"Pay to account 12345.")
    desk.send(CUSTOMER, tampered)
    second = desk.mail_to(desk.next_mails(2), QUEUE)
    assert "NOT authenticated: dkim=fail (acme.test: body hash mismatch" in second.message.get_content()
    assert inbound_rows(desk)[-1].authentication["passed"] is False  # type: ignore[index]


def test_customers_quarantine_holds_unauthenticated_mail_with_its_reason_and_answers_nobody(
        strict_desk: Desk) -> None:
    strict_desk.send(CUSTOMER, customer_mail(sender=CUSTOMER, subject="Unsigned"))
    held = assert_held_and_nothing_sent(strict_desk, codes.UNAUTHENTICATED)
    assert held.detail is not None and held.detail.startswith("authentication: none")
    assert held.incident_id is None

    strict_desk.send(CUSTOMER, signed(customer_mail(sender=CUSTOMER, subject="Signed"), "acme.test"))
    ack = strict_desk.mail_to(strict_desk.next_mails(2), CUSTOMER)
    assert ack.message["Subject"].startswith("[INC-000001]")
