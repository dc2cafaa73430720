"""Drive the pipeline in-process, deterministically: accept, then run until idle."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import App
from gateway.clock import Clock
from gateway.core.model import Envelope
from gateway.work.directory import sync_customers
from gateway.intake.ingest import Accepted, accept_raw
from gateway.work.processor import process_pending
from gateway.outbound.sender import RetryPolicy, send_due
from gateway.outbound.transports import FolderTransport, Transport
from store.inbound import InboundMessage
from store.incidents import Incident
from store.outbox import OutboxMessage


class Pipeline:
    def __init__(self, app: App, sessions: sessionmaker[Session], clock: Clock,
                 transport: Transport | None = None) -> None:
        self.app, self.sessions, self.clock = app, sessions, clock
        self.transport = transport or FolderTransport(app.settings.outbox_folder)
        self.policy = RetryPolicy(first_retry=__import__("datetime").timedelta(seconds=60))
        with sessions.begin() as session:
            sync_customers(session, app.settings.customers, clock.now())

    def accept(self, raw: bytes, mail_from: str = "alice@example.test",
               rcpt_tos: tuple[str, ...] = ("support@support.example.test",)) -> Accepted:
        return accept_raw(self.sessions, raw, Envelope(mail_from, rcpt_tos), source="smtp", now=self.clock.now())

    def run_until_idle(self) -> None:
        """Process and send until nothing is left; then close a relay connection kept for reuse."""
        try:
            for _ in range(100):
                if process_pending(self.app, self.sessions, self.clock) == 0 and \
                   send_due(self.sessions, self.transport, self.clock, self.policy) == 0:
                    return
            raise AssertionError("pipeline did not become idle")
        finally:
            close = getattr(self.transport, "close", None)
            if close is not None:
                close()

    def inbound(self, inbound_id: int) -> InboundMessage:
        with self.sessions() as session:
            row = session.get(InboundMessage, inbound_id)
            assert row is not None
            return row

    def incidents(self) -> list[Incident]:
        with self.sessions() as session:
            return list(session.scalars(select(Incident).order_by(Incident.number)))

    def outbox(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def sent_files(self) -> list[Path]:
        folder = self.app.settings.outbox_folder
        return sorted(folder.glob("*.eml")) if folder.exists() else []


def read_eml(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]
