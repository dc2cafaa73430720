"""The daemon end to end through real sockets: smtplib → aiosmtpd intake → store → relay sink."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from gateway.settings import Settings
from store.db import make_engine
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.processes import work_processes as _work_processes
from tests.support.relay_sink import RelaySink

SUPPORT = "support@support.example.test"


@pytest.fixture
def daemon_settings(make_settings, relay_sink: RelaySink) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5})


@pytest.fixture
def daemon(daemon_settings: Settings) -> Iterator[RunningDaemon]:
    running = RunningDaemon(daemon_settings).start()
    yield running
    running.stop()


def _client(daemon: RunningDaemon) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", daemon.port, timeout=10)


def test_mail_over_smtp_becomes_an_incident_and_its_ack_reaches_the_relay(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    with _client(daemon) as client:
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    [ack] = relay_sink.wait_for(1, timeout=5)
    assert ack.rcpt_tos == ["alice@example.test"]
    assert ack.message["Subject"].startswith("[INC-000001]")


def test_plus_addressed_support_recipient_is_accepted(daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    with _client(daemon) as client:
        client.sendmail("alice@example.test", ["support+INC-000123@support.example.test"], customer_mail())
    assert len(relay_sink.wait_for(1)) == 1


def test_rcpt_to_an_address_that_is_not_ours_is_refused_with_550(daemon: RunningDaemon) -> None:
    with _client(daemon) as client:
        client.ehlo()
        client.mail("alice@example.test")
        code, reply = client.rcpt("someone@elsewhere.test")
    assert code == 550
    assert b"relaying denied" in reply


def test_mail_declared_over_the_size_limit_is_refused_with_552_at_mail_from(daemon: RunningDaemon) -> None:
    big = customer_mail(body=("x" * 70 + "\n") * 4300)
    with _client(daemon) as client, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("alice@example.test", [SUPPORT], big)  # smtplib declares SIZE=
    assert refused.value.smtp_code == 552


def test_mail_over_the_size_limit_without_size_declared_is_refused_with_552_after_data(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    big = customer_mail(body=("x" * 70 + "\n") * 4300)
    with _client(daemon) as client:
        client.ehlo()
        client.mail("alice@example.test")
        client.rcpt(SUPPORT)
        code, _ = client.data(big)
        assert code == 552
        client.rset()
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())  # the session goes on
    assert len(relay_sink.wait_for(1)) == 1


def test_the_stored_mail_is_our_received_line_then_byte_for_byte_what_was_sent_with_dot_stuffing_undone(
        daemon: RunningDaemon, daemon_settings: Settings, relay_sink: RelaySink) -> None:
    raw = customer_mail(body=".hidden line\n.\n..two dots\nlast\n").replace(b"\n", b"\r\n")
    with _client(daemon) as client:
        client.sendmail("alice@example.test", [SUPPORT], raw)  # smtplib doubles each leading dot
    relay_sink.wait_for(1)
    engine = make_engine(daemon_settings.database_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT raw FROM inbound_raw")).scalar_one()
    finally:
        engine.dispose()
    stored = bytes(stored)
    trace, sent = stored[:len(stored) - len(raw)], stored[len(stored) - len(raw):]
    assert sent == raw  # issue 12: one Received: line (RFC 5321 §4.4) in front, nothing else changed
    assert trace.startswith(b"Received: from ") and trace.endswith(b"\r\n")
    assert all(line.startswith(b"\t") for line in trace.split(b"\r\n")[1:-1])  # folded, one header


def test_a_line_over_the_smtp_limit_is_refused_with_500_and_the_session_goes_on(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    with _client(daemon) as client:
        client.ehlo()
        client.mail("alice@example.test")
        client.rcpt(SUPPORT)
        long_line = b"From: alice@example.test\r\nSubject: long\r\n\r\n" + b"x" * 5000 + b"\r\n"
        code, reply = client.data(long_line)  # RFC 5321 §4.5.3.1.6: at most 1000 octets a line
        assert (code, b"Line too long" in reply) == (500, True)
        client.rset()
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    assert len(relay_sink.wait_for(1)) == 1


def test_store_trouble_answers_451_so_the_sender_retries_and_the_retry_succeeds(
        daemon: RunningDaemon, daemon_settings: Settings, relay_sink: RelaySink) -> None:
    engine = make_engine(daemon_settings.database_url)
    try:
        with engine.begin() as connection:  # the store breaks under the daemon's feet
            connection.execute(text("ALTER TABLE inbound_messages RENAME TO inbound_away"))
        with _client(daemon) as client, pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@example.test", [SUPPORT], customer_mail())
        assert refused.value.smtp_code == 451
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE inbound_away RENAME TO inbound_messages"))
    finally:
        engine.dispose()
    with _client(daemon) as client:  # what the sending MTA does next
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    assert len(relay_sink.wait_for(1)) == 1


def test_mail_left_received_by_a_crash_is_processed_at_start_up(
        daemon_settings: Settings, relay_sink: RelaySink) -> None:
    from gateway.core.model import Envelope
    from gateway.intake.ingest import accept_raw
    from store.db import make_sessionmaker
    from store.migrate import upgrade
    from tests.conftest import T0

    engine = make_engine(daemon_settings.database_url)
    upgrade(engine)
    accept_raw(make_sessionmaker(engine), customer_mail(), Envelope("alice@example.test", (SUPPORT,)),
               source="smtp", now=T0)  # committed, then the daemon "died"
    engine.dispose()
    running = RunningDaemon(daemon_settings).start()
    try:
        assert len(relay_sink.wait_for(1)) == 1
    finally:
        running.stop()


def test_a_killed_work_process_is_restarted_and_mail_still_gets_its_ack(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    import os
    import signal
    import time

    [worker] = _work_processes(os.getpid())
    os.kill(worker, signal.SIGKILL)
    with _client(daemon) as client:  # accepted while no work process runs: kept, not lost
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    assert len(relay_sink.wait_for(1, timeout=15)) == 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _work_processes(os.getpid()) in ([], [worker]):
        time.sleep(0.05)
    assert _work_processes(os.getpid()) not in ([], [worker])


def test_inline_mode_runs_the_work_on_the_daemons_own_loop(
        make_settings, relay_sink: RelaySink) -> None:  # type: ignore[no-untyped-def]
    import os

    settings = make_settings(gateway={"work_process": False},
                             relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5})
    running = RunningDaemon(settings).start()
    try:
        assert _work_processes(os.getpid()) == []
        with _client(running) as client:
            client.sendmail("alice@example.test", [SUPPORT], customer_mail())
        assert len(relay_sink.wait_for(1)) == 1
    finally:
        running.stop()


def test_relay_answering_421_then_250_delivers_the_ack_exactly_once(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    import time

    relay_sink.fail_next("421 4.3.2 Service shutting down")
    with _client(daemon) as client:
        client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    [ack] = relay_sink.wait_for(1, timeout=10)  # retried after the backoff stored in the row
    time.sleep(0.5)
    assert len(relay_sink.messages) == 1
    assert ack.message["Subject"].startswith("[INC-000001]")
