"""The sender against a real SMTP relay (aiosmtpd sink): 2xx sent, 4xx retried with backoff, 5xx dead."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from gateway import codes
from gateway.app import App
from gateway.clock import FixedClock
from gateway.outbound.sender import RetryPolicy, send_due
from gateway.outbound.transports import FolderTransport, RelayConfig, SmtpRelayTransport
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline
from tests.support.relay_sink import RelaySink


def _relay(port: int) -> SmtpRelayTransport:
    return SmtpRelayTransport(RelayConfig(host="127.0.0.1", port=port, timeout=5))


@pytest.fixture
def pipeline(app: App, sessions, clock: FixedClock, relay_sink: RelaySink) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(app, sessions, clock, transport=_relay(relay_sink.port))


def test_ack_is_delivered_to_the_relay_with_the_customer_as_recipient(pipeline: Pipeline, relay_sink: RelaySink) -> None:
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [received] = relay_sink.wait_for(1)
    assert received.rcpt_tos == ["alice@example.test"]
    assert received.mail_from == "support@support.example.test"
    assert received.message["Subject"].startswith("[INC-000001]")
    assert pipeline.outbox()[0].state == codes.OUT_SENT


def test_relay_answering_421_then_250_delivers_exactly_once(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock) -> None:
    relay_sink.fail_next("421 4.3.2 Service shutting down")
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [row] = pipeline.outbox()
    assert (row.state, row.attempts) == (codes.OUT_QUEUED, 1)
    assert "421" in (row.last_error or "")
    assert row.next_attempt_at > clock.now()  # backoff stored in the row
    clock.advance(timedelta(minutes=2))
    pipeline.run_until_idle()
    assert len(relay_sink.wait_for(1)) == 1
    [row] = pipeline.outbox()
    assert (row.state, row.attempts) == (codes.OUT_SENT, 2)


def test_relay_answering_550_makes_the_message_dead_with_the_reply_text(
        pipeline: Pipeline, relay_sink: RelaySink) -> None:
    relay_sink.fail_next("550 5.7.1 Relaying denied for this sender")
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [row] = pipeline.outbox()
    assert row.state == codes.OUT_DEAD
    assert "550 5.7.1 Relaying denied" in (row.last_error or "")
    assert relay_sink.messages == []


def test_unreachable_relay_keeps_the_mail_queued_and_a_later_attempt_delivers_it(
        app: App, sessions, clock: FixedClock, relay_sink: RelaySink) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pipeline = Pipeline(app, sessions, clock, transport=_relay(closed_port))
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [row] = pipeline.outbox()
    assert row.state == codes.OUT_QUEUED and "unreachable" in (row.last_error or "")
    # A restarted sender (new transport, same database) picks it up when due.
    clock.advance(timedelta(minutes=2))
    assert send_due(sessions, _relay(relay_sink.port), clock, RetryPolicy()) == 1
    assert len(relay_sink.wait_for(1)) == 1


def test_retries_back_off_exponentially_and_end_dead_after_the_last_attempt(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock, sessions) -> None:  # type: ignore[no-untyped-def]
    policy = RetryPolicy(max_attempts=3, first_retry=timedelta(minutes=1), max_retry=timedelta(hours=1))
    relay_sink.fail_next("451 4.3.0 Try later", times=3)
    pipeline.accept(customer_mail())
    from gateway.work.processor import process_pending

    process_pending(pipeline.app, sessions, clock)
    delays = []
    for _ in range(3):
        send_due(sessions, pipeline.transport, clock, policy)
        [row] = pipeline.outbox()
        delays.append(row.next_attempt_at - clock.now())
        clock.advance(timedelta(hours=2))
    [row] = pipeline.outbox()
    assert delays[:2] == [timedelta(minutes=1), timedelta(minutes=2)]
    assert row.state == codes.OUT_DEAD and row.attempts == 3


def test_an_outgoing_folder_that_cannot_be_written_keeps_the_mail_queued_until_it_can(
        app: App, sessions, clock: FixedClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the folder should be")
    pipeline = Pipeline(app, sessions, clock, transport=FolderTransport(blocked))
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [row] = pipeline.outbox()
    assert row.state == codes.OUT_QUEUED and str(blocked) in (row.last_error or "")
    blocked.unlink()  # the operator fixes it; the next attempt writes the .eml
    clock.advance(timedelta(minutes=2))
    assert send_due(sessions, FolderTransport(blocked), clock, RetryPolicy()) == 1
    [written] = blocked.glob("*.eml")
    assert written.name.endswith("-ack-INC-000001.eml") and not list(blocked.glob(".*.tmp"))
