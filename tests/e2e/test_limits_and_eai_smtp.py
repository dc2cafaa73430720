"""Issue 10 items 9 and 4 over real SMTP: rate limits on automatic mail, internationalised mail.

smtplib → the daemon's aiosmtpd intake → processing → the relay sink (or the
outgoing folder, for mail to an EAI address, whose sending is the sender's).
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select

from gateway import codes
from gateway.settings import Settings
from store.db import make_engine
from store.inbound import InboundMessage
from store.incidents import Incident, IncidentEvent, IncidentMessage
from store.outbox import OutboxMessage
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink

SUPPORT = "support@support.example.test"
QUEUE = "engineers@vendor.test"
ENGINEER = "yamada@vendor.test"
EAI = "üser@example.test"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def engine(daemon_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(daemon_settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def daemon_settings(make_settings, relay_sink: RelaySink) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                         engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
                         limits={"held_replies_per_domain_per_day": 3})


@pytest.fixture
def daemon(daemon_settings: Settings) -> Iterator[RunningDaemon]:
    running = RunningDaemon(daemon_settings).start()
    yield running
    running.stop()


def _rows(engine: Engine, query: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(query))


def _all_processed(engine: Engine, count: int) -> Callable[[], bool]:
    query = select(InboundMessage.state)
    return lambda: [r.state for r in _rows(engine, query)].count(codes.RECEIVED) == 0 and \
        len(_rows(engine, query)) == count


def test_forty_mails_from_one_contact_in_a_minute_get_ten_acks_and_forty_notices_that_say_so(
        daemon: RunningDaemon, relay_sink: RelaySink, engine: Engine) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        for n in range(40):
            client.sendmail("alice@example.test", [SUPPORT], customer_mail(subject=f"Problem {n}"))
    _wait(_all_processed(engine, 40), "40 mails processed")
    _wait(lambda: len(_rows(engine, select(OutboxMessage.id).where(OutboxMessage.state != codes.OUT_SENT))) == 0,
          "the outbox drained")
    received = relay_sink.wait_for(50)
    assert len(received) == 50
    acks = [m for m in received if m.rcpt_tos == ["alice@example.test"]]
    notices = [m for m in received if m.rcpt_tos == [QUEUE]]
    assert (len(acks), len(notices)) == (10, 40)
    assert len(_rows(engine, select(Incident.id))) == 40  # every mail was stored and opened its incident
    said = [m for m in notices if "No acknowledgement was sent to the customer: rate limit 10 in 10 min for "
            "alice@example.test." in m.message.get_body().get_content()]
    assert len(said) == 30
    events = _rows(engine, select(IncidentEvent.data).where(IncidentEvent.type == codes.EVENT_NOT_SENT))
    assert len(events) == 30 and {e.data["reason"] for e in events} == {codes.RATE_LIMITED}


def test_held_replies_to_strangers_at_a_customers_domain_stop_at_the_daily_domain_limit(
        daemon: RunningDaemon, relay_sink: RelaySink, engine: Engine) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        for n in range(5):
            sender = f"stranger{n}@example.test"
            client.sendmail(sender, [SUPPORT], customer_mail(sender=sender, subject=f"Hi {n}"))
    _wait(_all_processed(engine, 5), "5 mails processed")
    replies = relay_sink.wait_for(3)
    time.sleep(0.5)  # nothing more comes
    assert sorted(m.rcpt_tos[0] for m in relay_sink.messages) == [f"stranger{n}@example.test" for n in range(3)]
    details = [r.detail for r in _rows(engine, select(InboundMessage.detail).order_by(InboundMessage.id))]
    assert all(d.endswith("no reply sent: rate limit 3 in 24 h for example.test") for d in details[3:])
    assert len(replies) == 3


def test_the_intake_advertises_smtputf8(daemon: RunningDaemon) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")


def _utf8_mail(message_id: str, subject: str, sender: str = "alice@example.test",
               in_reply_to: str | None = None) -> bytes:
    """Raw RFC 6532 mail, as an SMTPUTF8 mailer writes it: UTF-8 in the headers themselves."""
    lines = [f"From: Ü Example <{sender}>", f"To: {SUPPORT}", f"Subject: {subject}",
             f"Message-ID: <{message_id}>", "Date: Fri, 20 Nov 2026 10:00:00 +0900", "MIME-Version: 1.0",
             'Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 8bit"]
    if in_reply_to:
        lines += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    return ("\r\n".join(lines) + "\r\n\r\nDer Server hält jede Nacht an.\r\n").encode("utf-8")


def test_a_utf8_message_id_opens_an_incident_gets_its_ack_and_a_reply_to_it_threads(
        daemon: RunningDaemon, relay_sink: RelaySink, engine: Engine) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        client.sendmail("alice@example.test", [SUPPORT], _utf8_mail("über-1@example.test", "Server hält an"),
                        mail_options=["SMTPUTF8"])
    ack, _notice = sorted(relay_sink.wait_for(2), key=lambda m: m.rcpt_tos != ["alice@example.test"])
    assert ack.rcpt_tos == ["alice@example.test"] and ack.message["Subject"].startswith("[INC-000001]")
    assert ack.raw.isascii() and ack.message["In-Reply-To"] is None  # plain SMTP: the UTF-8 id is left out
    [opened] = _rows(engine, select(IncidentMessage.message_id, Incident.subject).join(Incident)
                     .where(IncidentMessage.direction == "in"))
    assert tuple(opened) == ("über-1@example.test", "Server hält an")
    [notice] = _rows(engine, select(IncidentEvent.data).where(IncidentEvent.type == "notice")
                     .where(IncidentEvent.data["kind"].as_string() == codes.KIND_ACK))
    assert notice.data["left_out_of_references"] == ["über-1@example.test"]
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:  # no token, another subject: the id alone
        client.sendmail("alice@example.test", [SUPPORT],
                        _utf8_mail("über-2@example.test", "Noch etwas", in_reply_to="über-1@example.test"),
                        mail_options=["SMTPUTF8"])
    _wait(_all_processed(engine, 2), "the reply processed")
    states = _rows(engine, select(InboundMessage.reason, InboundMessage.incident_id).order_by(InboundMessage.id))
    assert [s.reason for s in states] == [codes.INCIDENT_OPENED, codes.CUSTOMER_REPLIED]
    assert len(_rows(engine, select(Incident.id))) == 1


@pytest.fixture
def eai_daemon(tmp_path, db_url: str) -> Iterator[tuple[RunningDaemon, Settings]]:  # type: ignore[no-untyped-def]
    from gateway.settings import settings_from_dict
    data = settings_dict(tmp_path, db_url, engineers={"queue_address": QUEUE, "locale": "en"})
    data["customers"][0]["contacts"].append(EAI)  # no relay: mail goes to the outgoing folder
    settings = settings_from_dict(data)
    running = RunningDaemon(settings).start()
    yield running, settings
    running.stop()


def test_an_eai_contact_opens_an_incident_and_its_ack_is_written_for_smtputf8(
        eai_daemon: tuple[RunningDaemon, Settings]) -> None:
    daemon, settings = eai_daemon
    engine = make_engine(settings.database_url)
    try:
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
            client.sendmail(EAI, [SUPPORT], _utf8_mail("eai-1@example.test", "Ärger", sender=EAI),
                            mail_options=["SMTPUTF8"])
        _wait(_all_processed(engine, 1), "the mail processed")
        [inbound] = _rows(engine, select(InboundMessage.mail_from, InboundMessage.from_addr, InboundMessage.reason))
        assert tuple(inbound) == (EAI, EAI, codes.INCIDENT_OPENED)
        [incident] = _rows(engine, select(Incident.opened_by))
        assert incident.opened_by == EAI
        rows = {r.kind: r for r in _rows(engine, select(OutboxMessage.kind, OutboxMessage.rcpt_tos,
                                                          OutboxMessage.needs_smtputf8, OutboxMessage.raw))}
        assert (rows["ack"].rcpt_tos, rows["ack"].needs_smtputf8) == ([EAI], True)
        assert f"To: {EAI}\r\n".encode() in bytes(rows["ack"].raw)
        assert "In-Reply-To: <eai-1@example.test>".encode() in bytes(rows["ack"].raw)
        assert rows["notify"].needs_smtputf8 is False and bytes(rows["notify"].raw).isascii()
    finally:
        engine.dispose()
