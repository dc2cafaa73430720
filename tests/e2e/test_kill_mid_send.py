"""A work process SIGKILLed while the sender hands a batch to the relay (issue 10 item 5).

The relay sink kills the work process from inside its DATA handler, after it has stored the
message and before its 250 reaches the gateway: the worst moment, when SMTP itself cannot tell
whether the message went. The daemon restarts the work process; what must follow is what an
MTA does after a crash — that one message again (same Message-ID), everything else once, and
all of it within seconds, not when the dead process's claims expire (5 minutes).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway import codes
from tests.support.daemon import RunningDaemon
from tests.support.desk import SUPPORT, Desk
from tests.support.mails import customer_mail
from tests.support.processes import work_processes
from tests.support.relay_sink import Received, RelaySink
from store.outbox import OutboxMessage

QUEUE = "engineers@vendor.example.test"
MAILS = 10  # each gives an acknowledgement and an engineer notice: 20 letters
KILL_AT = (5, 12)  # the relay's 5th and 12th arrivals never get their 250 to the gateway


class KillingRelay:
    """Holds the first letter until every mail is in the outbox, then kills the work process at KILL_AT."""

    def __init__(self, sink: RelaySink) -> None:
        self.sink, self.all_queued = sink, threading.Event()
        self.kills: list[float] = []
        self.arrivals: list[float] = []
        sink.on_message = self._arrived

    def _arrived(self, received: Received) -> None:
        self.arrivals.append(time.monotonic())
        if len(self.arrivals) == 1:
            self.all_queued.wait(30)  # a slow relay: the rest piles up and is claimed as one batch
        if len(self.arrivals) in KILL_AT:
            [worker] = work_processes(os.getpid())
            os.kill(worker, signal.SIGKILL)
            self.kills.append(time.monotonic())


@pytest.fixture
def desk(make_settings, relay_sink: RelaySink) -> Iterator[Desk]:  # type: ignore[no-untyped-def]
    settings = make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                             engineers={"addresses": ["yamada@vendor.example.test"], "queue_address": QUEUE,
                                        "locale": "en"},
                             limits={"enabled": False})
    daemon = RunningDaemon(settings).start()
    desk = Desk(daemon, relay_sink, settings)
    yield desk
    desk.close()
    daemon.stop()


def _queued_letters(desk: Desk) -> int:
    with desk.sessions() as session:
        return len(session.scalars(select(OutboxMessage.id)).all())


def test_a_work_process_killed_mid_send_twice_resends_one_letter_per_kill_and_the_rest_within_seconds(
        desk: Desk, relay_sink: RelaySink) -> None:
    relay = KillingRelay(relay_sink)
    for number in range(MAILS):
        desk.send("alice@example.test", customer_mail(subject=f"Server {number} stops every night"), SUPPORT)
    desk.wait(lambda: desk.all_processed() and _queued_letters(desk) == 2 * MAILS, timeout=30)
    relay.all_queued.set()

    desk.wait(lambda: len({m.message["Message-ID"] for m in relay_sink.messages}) == 2 * MAILS, timeout=60)
    desk.wait(lambda: all(row.state == codes.OUT_SENT for row in _outbox(desk)), timeout=30)

    copies = Counter(m.message["Message-ID"] for m in relay_sink.messages)
    assert len(relay.kills) == len(KILL_AT)
    assert sum(copies.values()) - len(copies) <= len(KILL_AT)  # at most the letter on the wire, per kill
    for killed_at in relay.kills:  # the next letter after each kill came within seconds, not at lease expiry
        assert min(t for t in relay.arrivals if t > killed_at) - killed_at < 20
    assert relay.arrivals[-1] - relay.kills[-1] < 30
    assert {row.claimed_by.split(":")[0] for row in _outbox(desk)} == {desk_node(desk)}


def _outbox(desk: Desk) -> list[OutboxMessage]:
    with desk.sessions() as session:
        return list(session.scalars(select(OutboxMessage)))


def desk_node(desk: Desk) -> str:
    return desk.daemon.settings.gateway.node
