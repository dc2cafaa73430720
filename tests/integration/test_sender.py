"""The sender against a real SMTP relay (aiosmtpd sink): 2xx sent, 4xx retried with backoff, 5xx dead."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from gateway import codes
from gateway.app import App
from gateway.clock import FixedClock
from gateway.outbound.sender import RetryPolicy, send_due
from gateway.outbound.relay import RelayConfig, SmtpRelayTransport
from gateway.outbound.transports import FolderTransport
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


def _closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_relay_that_cannot_be_reached_charges_no_attempts_and_the_waits_grow_with_the_time_queued(
        app: App, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(app, sessions, clock, transport=_relay(_closed_port()))
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    waits = []
    for _ in range(4):
        [row] = pipeline.outbox()
        clock.advance(row.next_attempt_at - clock.now())
        send_due(sessions, pipeline.transport, clock, RetryPolicy())
        [row] = pipeline.outbox()
        waits.append(row.next_attempt_at - clock.now())

    assert (row.state, row.attempts) == (codes.OUT_QUEUED, 0)  # nothing was ever tried
    assert "unreachable" in (row.last_error or "")
    assert waits == sorted(waits) and waits[-1] > waits[0]
    from store.outbox_repair import backlog

    with sessions() as session:  # what `status` and /metrics show: waiting after a failure
        assert backlog(session, clock.now())["retrying"] == 1


def test_a_notice_the_relay_keeps_deferring_is_given_up_after_five_days_in_the_queue_saying_so(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock, sessions) -> None:  # type: ignore[no-untyped-def]
    relay_sink.fail_next("451 4.3.0 Try later", times=1000)
    pipeline.accept(customer_mail())
    from gateway.work.processor import process_pending

    process_pending(pipeline.app, sessions, clock)
    policy = RetryPolicy()
    tried = 0
    while pipeline.outbox()[0].state == codes.OUT_QUEUED and tried < 500:
        send_due(sessions, pipeline.transport, clock, policy)
        tried += 1
        clock.advance(timedelta(hours=1))
    [row] = pipeline.outbox()

    assert row.state == codes.OUT_DEAD
    assert "given up after 5 day(s) in the queue" in (row.last_error or "") and "451" in (row.last_error or "")
    assert 110 <= row.attempts <= 125  # one try an hour (max_retry) for five days, each one counted
    assert row.attempts == tried


def _eai_app(make_settings) -> App:  # type: ignore[no-untyped-def]
    from gateway.app import build_app

    settings = make_settings(customers=[
        {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "en",
         "domains": ["example.test"], "contacts": ["alice@example.test", EAI]}])
    return build_app(settings)


EAI = "üser@example.test"
EAI_MAIL = ("From: " + EAI + "\r\nTo: support@support.example.test\r\nSubject: Ärger mit dem Server\r\n"
            "Message-ID: <eai-send-1@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nDer Server hält jede Nacht an.\r\n").encode()


@pytest.mark.parametrize("offered", [True, False], ids=["relay-offers-smtputf8", "relay-without-smtputf8"])
def test_mail_to_an_eai_address_goes_with_smtputf8_or_dies_saying_the_relay_lacks_it(
        make_settings, sessions, clock: FixedClock, offered: bool) -> None:  # type: ignore[no-untyped-def]
    sink = RelaySink(smtputf8=offered).start()
    try:
        pipeline = Pipeline(_eai_app(make_settings), sessions, clock, transport=_relay(sink.port))
        pipeline.accept(EAI_MAIL, mail_from=EAI)
        pipeline.run_until_idle()
        [ack] = [r for r in pipeline.outbox() if r.kind == codes.KIND_ACK]
        if offered:
            [received] = [m for m in sink.wait_for(1) if m.rcpt_tos == [EAI]]
            assert ack.state == codes.OUT_SENT
            assert sink.smtputf8_sessions[sink.messages.index(received)] is True
            assert f"To: {EAI}".encode() in received.raw
        else:
            assert ack.state == codes.OUT_DEAD
            assert "does not offer SMTPUTF8" in (ack.last_error or "")
            assert sink.messages == []
    finally:
        sink.stop()


def test_during_an_outage_a_later_letter_to_the_customer_waits_for_the_earlier_one(
        make_settings, sessions, clock: FixedClock, relay_sink: RelaySink) -> None:  # type: ignore[no-untyped-def]
    from gateway.app import build_app
    from gateway.work.processor import process_pending
    from tests.support.replies import reply_to

    engineer, queue = "yamada@vendor.test", "engineers@vendor.test"
    app = build_app(make_settings(engineers={"addresses": [engineer], "queue_address": queue, "locale": "en"}))
    pipeline = Pipeline(app, sessions, clock, transport=_relay(relay_sink.port))
    policy = RetryPolicy()
    pipeline.accept(customer_mail())
    process_pending(app, sessions, clock)
    ack_row = next(r for r in pipeline.outbox() if r.kind == codes.KIND_ACK)
    assert ack_row.id < next(r.id for r in pipeline.outbox() if r.kind == codes.KIND_NOTIFY)
    relay_sink.fail_next("451 4.3.0 Try again later")  # the acknowledgement to Alice is deferred
    send_due(sessions, pipeline.transport, clock, policy)
    [notice] = relay_sink.wait_for(1)
    assert notice.rcpt_tos == [queue]

    answer = reply_to(notice.message, sender=engineer, body="Could you send us the server log?")
    pipeline.accept(answer, mail_from=engineer, rcpt_tos=(str(notice.message["Reply-To"]),))
    process_pending(app, sessions, clock)
    send_due(sessions, pipeline.transport, clock, policy)
    [relayed] = [r for r in pipeline.outbox() if r.kind == codes.KIND_RELAY]

    assert relayed.state == codes.OUT_QUEUED and relayed.attempts == 0
    assert f"waiting for outbox {ack_row.id}" in (relayed.last_error or "")
    assert relayed.next_attempt_at == next(r for r in pipeline.outbox() if r.id == ack_row.id).next_attempt_at
    # Nothing to Alice overtook the deferred acknowledgement; the answer's copy to the queue (issue 11) may go.
    assert [m.rcpt_tos for m in relay_sink.messages] in ([[queue]], [[queue], [queue]])

    clock.advance(timedelta(minutes=2))
    while send_due(sessions, pipeline.transport, clock, policy):
        pass
    to_alice = [m for m in relay_sink.wait_for(4) if m.rcpt_tos == ["alice@example.test"]]
    assert len(to_alice) == 2  # the acknowledgement, then the engineer's answer, in creation order
    assert [m.message["Message-ID"] for m in to_alice] == [
        f"<{r.message_id}>" for r in sorted((r for r in pipeline.outbox() if r.rcpt_tos == ["alice@example.test"]),
                                            key=lambda r: r.id)]


def test_each_delivery_is_recorded_as_the_relay_answers_so_a_crash_resends_at_most_one(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock, sessions) -> None:  # type: ignore[no-untyped-def]
    from gateway.work.processor import process_pending

    for number in range(3):
        pipeline.accept(customer_mail(subject=f"Problem {number}"))
    process_pending(pipeline.app, sessions, clock)
    seen: list[list[str]] = []  # at each arrival: the states of the letters that arrived before it
    relay_sink.on_message = lambda received: seen.append(
        [row.state for row in pipeline.outbox() if f"<{row.message_id}>" in
         [m.message["Message-ID"] for m in relay_sink.messages[:-1]]])

    assert send_due(sessions, pipeline.transport, clock, RetryPolicy()) == 3

    assert [len(states) for states in seen] == [0, 1, 2]
    assert all(state == codes.OUT_SENT for states in seen for state in states)  # written before the next went


def _claim_all(sessions, clock: FixedClock, claimant: str) -> list[int]:  # type: ignore[no-untyped-def]
    from gateway.outbound.sender import claim

    return [parcel.outbox_id for parcel in claim(sessions, clock.now(), RetryPolicy(), 50, claimant)]


def test_a_restarted_work_process_sends_at_once_what_its_dead_predecessor_had_claimed(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock, sessions) -> None:  # type: ignore[no-untyped-def]
    from gateway.outbound.claims import Claimant, release_dead_claims
    from gateway.work.processor import process_pending

    pipeline.accept(customer_mail())
    process_pending(pipeline.app, sessions, clock)
    claimed = _claim_all(sessions, clock, "gw-1:4000001:dead0001")  # then SIGKILLed, mid-send
    assert claimed and send_due(sessions, pipeline.transport, clock, RetryPolicy()) == 0  # leased 5 minutes

    me = Claimant("gw-1", 4000002, "new00002")
    released = release_dead_claims(sessions, me, clock.now(), alive=lambda pid: pid == me.pid)

    assert released == claimed
    assert send_due(sessions, pipeline.transport, clock, RetryPolicy(), claimant=str(me)) == len(claimed)
    assert len(relay_sink.wait_for(len(claimed))) == len(claimed)
    assert {row.claimed_by for row in pipeline.outbox()} == {str(me)}  # a sent row says who sent it


def test_claims_of_a_live_process_or_of_another_node_are_left_to_their_lease(
        pipeline: Pipeline, clock: FixedClock, sessions) -> None:  # type: ignore[no-untyped-def]
    from gateway.outbound.claims import Claimant, release_dead_claims
    from gateway.work.processor import process_pending

    pipeline.accept(customer_mail())
    process_pending(pipeline.app, sessions, clock)
    _claim_all(sessions, clock, "gw-1:4000001:alive001")
    me = Claimant("gw-1", 4000002, "new00002")
    assert release_dead_claims(sessions, me, clock.now(), alive=lambda pid: True) == []
    assert release_dead_claims(sessions, Claimant("gw-2", 4000003, "other003"), clock.now(),
                               alive=lambda pid: False) == []
    assert Claimant.parse("gw-1:4000001:alive001") == Claimant("gw-1", 4000001, "alive001")
    assert Claimant.parse("host:with:colons:12:ab") == Claimant("host:with:colons", 12, "ab")
    assert Claimant.parse("garbage") is None


def _parcel(number: int) -> "Parcel":
    from gateway.outbound.transports import Parcel

    raw = (f"From: support@support.example.test\r\nTo: alice@example.test\r\nSubject: {number}\r\n"
           f"Message-ID: <reuse-{number}@support.example.test>\r\n\r\nHello\r\n").encode()
    return Parcel(number, f"{number:08d}-ack", "support@support.example.test", ("alice@example.test",), raw)


def test_batches_close_together_share_one_relay_connection_and_a_stale_one_is_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A submission relay (STARTTLS, AUTH): one TLS handshake and login serve batches within the reuse time."""
    import time

    from gateway.outbound.transports import SENT
    from tests.support.certs import self_signed, server_context

    cert, key = self_signed(tmp_path)
    sink = RelaySink(tls_context=server_context(cert, key), credentials=("gateway", "secret")).start()
    try:
        transport = SmtpRelayTransport(RelayConfig(host="127.0.0.1", port=sink.port, timeout=5, starttls=True,
                                                   ca_file=str(cert), username="gateway", password="secret",
                                                   keep_open_seconds=0.5))
        first = transport.deliver([_parcel(1)])
        second = transport.deliver([_parcel(2)])  # within 0.5 s: the same connection, no second login
        assert sink.logins == ["gateway"]
        time.sleep(0.7)
        third = transport.deliver([_parcel(3)])  # idle too long: a new connection
        transport.close()
        assert [o.status for o in first + second + third] == [SENT, SENT, SENT]
        assert sink.logins == ["gateway", "gateway"] and len(sink.wait_for(3)) == 3
    finally:
        sink.stop()


def test_deliveries_journaled_by_a_process_killed_before_its_batch_was_written_are_not_sent_again(
        pipeline: Pipeline, relay_sink: RelaySink, clock: FixedClock, sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gateway.outbound.claims import Claimant, release_dead_claims
    from gateway.outbound.journal import SentJournal
    from gateway.outbound.sender import apply_journal, claim
    from gateway.work.processor import process_pending

    for number in range(3):
        pipeline.accept(customer_mail(subject=f"Problem {number}"))
    process_pending(pipeline.app, sessions, clock)
    journal = SentJournal(tmp_path / "sender-gw-1.journal")
    parcels = claim(sessions, clock.now(), RetryPolicy(), 50, "gw-1:4000001:dead0001")
    pipeline.transport.deliver(parcels, lambda parcel, outcome: journal.append(parcel, outcome, clock.now()))
    journal.close()  # SIGKILLed here: the relay has all three, the outbox still says "queued"
    assert {row.state for row in pipeline.outbox()} == {codes.OUT_QUEUED}

    restarted = SentJournal(tmp_path / "sender-gw-1.journal")
    assert apply_journal(sessions, restarted, RetryPolicy()) == 3
    assert release_dead_claims(sessions, Claimant("gw-1", 4000002, "new00002"), clock.now(),
                               alive=lambda pid: False) == []
    assert send_due(sessions, pipeline.transport, clock, RetryPolicy(), journal=restarted) == 0
    assert {row.state for row in pipeline.outbox()} == {codes.OUT_SENT} and len(relay_sink.messages) == 3
    assert restarted.pending() == []
    restarted.close()
