"""A relay that rewrites our Message-ID (Exchange Online, SES): replies quoting its id still thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.outbound.configure import make_transport
from gateway.outbound.relay import relay_message_id
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline
from tests.support.relay_sink import RelaySink


@pytest.fixture
def rewriting_sink() -> Iterator[RelaySink]:
    sink = RelaySink(rewrite_message_ids=True).start()
    yield sink
    sink.stop()


def test_a_customer_reply_to_the_relays_message_id_threads_into_the_incident(
        rewriting_sink: RelaySink, make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(relay={"host": "127.0.0.1", "port": rewriting_sink.port, "timeout": 5})
    pipeline = Pipeline(build_app(settings), sessions, clock, transport=make_transport(settings))
    pipeline.accept(customer_mail(subject="Backup fails"))
    pipeline.run_until_idle()
    acks = [row for row in pipeline.outbox() if row.kind == codes.KIND_ACK]
    assert [row.relay_message_id for row in acks] == [rewriting_sink.rewritten[0]]
    # The customer's client only ever saw the relay's id; the reply carries no tag and no token.
    reply = customer_mail(subject="Re: your mail", body="The log is attached now.\n").replace(
        b"Subject:", f"In-Reply-To: <{rewriting_sink.rewritten[0]}>\r\nSubject:".encode(), 1)
    accepted = pipeline.accept(reply)
    pipeline.run_until_idle()
    assert len(pipeline.incidents()) == 1
    assert pipeline.inbound(accepted.inbound_id).incident_id == pipeline.incidents()[0].id


def test_the_relays_reply_names_a_new_id_only_when_it_differs_from_ours() -> None:
    assert relay_message_id("2.0.0 Ok <relay-1@relay.test> queued", "gw.1@v.test") == "relay-1@relay.test"
    assert relay_message_id("2.0.0 Ok <gw.1@v.test>", "gw.1@v.test") is None
    assert relay_message_id("2.0.0 Ok: queued as 4F3A2", "gw.1@v.test") is None
