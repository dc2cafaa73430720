"""Two copies of one mail decided at the same moment by two nodes open one incident (issues 11, 15).

On PostgreSQL each node claims its own batch, so two copies of a mail (a retry through another
hop) can be decided at once, neither seeing the other processed. The second write must notice,
under its advisory lock, that the first copy went meanwhile.
"""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.app import App
from gateway.clock import FixedClock
from gateway.work.processor import _plan_all, _write, process_one
from gateway.work.prepare import prepare_all
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.postgres


@pytest.fixture
def pipeline(app: App, sessions, clock: FixedClock, db_url: str) -> Pipeline:  # type: ignore[no-untyped-def]
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serves one node: its processor's batches follow each other")
    return Pipeline(app, sessions, clock)


def test_a_copy_decided_while_another_node_processed_the_first_is_stored_as_a_duplicate(
        pipeline: Pipeline, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    raw = customer_mail(message_id="<both-nodes@example.test>")
    first = pipeline.accept(raw)
    second = pipeline.accept(b"Received: from mx2.example.test by mx.example.test; Tue, 24 Nov 2026\r\n" + raw)
    app, now = pipeline.app, clock.now()
    decided = prepare_all(app, sessions, [second.inbound_id])  # node B decides its copy: nothing processed yet
    assert decided[0].decision is not None and decided[0].decision.reason == codes.INCIDENT_OPENED

    assert process_one(app, sessions, first.inbound_id, now) == codes.PROCESSED  # node A commits first

    outcomes = _plan_all(app, sessions, decided, now)
    with sessions.begin() as session:
        states = _write(app, session, outcomes, now)
    assert states == {second.inbound_id: codes.IGNORED}
    row = pipeline.inbound(second.inbound_id)
    assert row.reason == codes.DUPLICATE_MESSAGE_ID and f"inbound {first.inbound_id}" in (row.detail or "")
    assert len(pipeline.incidents()) == 1
    assert [r.kind for r in pipeline.outbox()] == [codes.KIND_ACK]
