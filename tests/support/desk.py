"""The people around a running daemon: they send over SMTP and read what reaches the relay sink."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator

from sqlalchemy import select

from gateway.clock import Clock
from gateway.settings import Settings
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage
from store.incidents import Incident, IncidentEvent
from tests.support.daemon import RunningDaemon
from tests.support.relay_sink import Received, RelaySink

SUPPORT = "support@support.example.test"


class Desk:
    """Sends mail to the daemon and takes what the gateway sent from the relay sink, in order."""

    def __init__(self, daemon: RunningDaemon, sink: RelaySink, settings: Settings) -> None:
        self.daemon, self.sink = daemon, sink
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self._taken: list[Received] = []

    def send(self, sender: str, raw: bytes, to: str = SUPPORT) -> None:
        with smtplib.SMTP("127.0.0.1", self.daemon.port, timeout=10) as client:
            client.sendmail(sender, [to], raw)

    def next_mails(self, count: int) -> list[Received]:
        seen = len(self._taken)
        mails = self.sink.wait_for(seen + count, timeout=15)[seen:seen + count]
        self._taken.extend(mails)
        return mails

    def mail_to(self, mails: list[Received], address: str) -> Received:
        return next(m for m in mails if m.rcpt_tos == [address])

    def wait(self, condition: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not reached")

    def all_processed(self) -> bool:
        with self.sessions() as session:
            return all(s != "received" for s in session.scalars(select(InboundMessage.state)))

    def inbound(self) -> list[InboundMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))

    def incident(self, number: int) -> Incident:
        with self.sessions() as session:
            row = session.scalar(select(Incident).where(Incident.number == number))
            assert row is not None
            return row

    def sides(self, number: int = 1) -> list[str]:
        with self.sessions() as session:
            rows = session.scalars(select(IncidentEvent).join(Incident).where(
                Incident.number == number, IncidentEvent.type == "side").order_by(IncidentEvent.id))
            return [row.data["side"] for row in rows]

    def close(self) -> None:
        self.engine.dispose()


def running_desk(settings: Settings, sink: RelaySink, clock: Clock | None = None) -> Iterator[Desk]:
    """A started daemon and its Desk, for a fixture to `yield from`; stopped afterwards."""
    running = RunningDaemon(settings, clock=clock).start()
    desk = Desk(running, sink, settings)
    try:
        yield desk
    finally:
        desk.close()
        running.stop()
