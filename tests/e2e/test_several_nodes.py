"""Three gateway nodes on one PostgreSQL under load, two of them SIGKILLed and restarted (issue 15).

Each node is a real `support-gateway run` process with its own SMTP listener, all polling one
Dovecot mailbox (one holds its lease) and sending to one relay sink. 5,000 mails arrive over
SMTP spread across the nodes and 2,000 wait in the mailbox; meanwhile the IMAP lease holder is
killed, then another node, and both are started again. What the desk must see afterwards:
every mail one incident, each incident one acknowledgement and one engineer notice (at the
relay at most one extra copy per kill: the letter on the wire), the processed folder holding
each IMAP mail once, and no error lines beyond the connections the kills cut.

Sizes: SG_NODES_SMTP_MAILS / SG_NODES_IMAP_MAILS (defaults 5000 / 2000, the issue's figures).
"""

from __future__ import annotations

import os
import random
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select, text

from gateway import codes
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage
from store.leases import Lease
from store.outbox import OutboxMessage
from store.migrate import upgrade
from tests.conftest import PG_URL, _pg_schema_url, settings_dict
from tests.support.dovecot import PASSWORD_ENV, Dovecot, MailUser, dovecot, mail_user, settings_toml  # noqa: F401
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink, free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SMTP_MAILS = int(os.environ.get("SG_NODES_SMTP_MAILS", "5000"))
IMAP_MAILS = int(os.environ.get("SG_NODES_IMAP_MAILS", "2000"))
QUEUE = "engineers@vendor.example.test"
SECRET_ENV = "SG_TEST_NODES_TOKEN_SECRET"
SUPPORT = "support@support.example.test"
# What a SIGKILL leaves in the logs: the killed daemon's work process noticing it is orphaned,
# and connections the kill cut.
EXPECTED_ERRORS = ("the daemon is gone; the work process stops", "connection", "Connection", "server closed",
                   "EOF", "terminating")

pytestmark = pytest.mark.postgres


@pytest.fixture
def shared_pg() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("no PostgreSQL (run through `make test`, which provides one)")
    schema = f"t_nodes_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = _pg_schema_url(PG_URL, schema)
    engine = make_engine(url)
    upgrade(engine)  # as the operator does once (`db upgrade`), before the first node starts
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


class Node:
    """One `support-gateway run` with its own folder, SMTP port and log."""

    def __init__(self, name: str, folder: Path, settings: dict[str, object], env: dict[str, str]) -> None:
        self.name, self.folder, self.env = name, folder, env
        self.port = free_port()
        folder.mkdir()
        data = {**settings, "gateway": {**settings["gateway"], "node": name, "data_dir": str(folder / "var")},  # type: ignore[dict-item]
                "smtp": {**settings["smtp"], "port": self.port}}  # type: ignore[dict-item]
        (folder / "gateway.toml").write_text(settings_toml(data), encoding="utf-8")
        self.process: subprocess.Popen[str] | None = None
        self.log: IO[str] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.log = log = (self.folder / f"run-{self.runs}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", "--config", str(self.folder / "gateway.toml"),
             "run"], stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env=self.env)
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        assert "SMTP on" in banner, f"{self.name} did not start: {banner!r}"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._close()

    def _close(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self.log is not None:
            self.log.close()
            self.log = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def error_lines(self) -> list[str]:
        """Each ERROR line or traceback of every run, with the lines that continue it."""
        found = []
        for log in sorted(self.folder.glob("run-*.log")):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines):
                if "level=ERROR" in line or line.startswith("Traceback"):
                    rest = [more for more in lines[number + 1:number + 40] if not more.startswith("time=")]
                    found.append("\n".join([f"{self.name} {log.name}: {line}", *rest[:30]]))
        return found


class Senders:
    """Customers' MTAs: each mail to some live node; a refused or cut session is retried at another."""

    def __init__(self, nodes: list[Node], mails: list[bytes], threads: int = 6) -> None:
        self.nodes, self.mails, self.threads = nodes, mails, threads
        self.accepted = 0
        self.retried: list[int] = []  # mails whose session failed after DATA was sent: they may be stored
        self.lock = threading.Lock()

    def run(self) -> None:
        workers = [threading.Thread(target=self._worker, args=(slot,)) for slot in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _worker(self, slot: int) -> None:
        for index in range(slot, len(self.mails), self.threads):
            for attempt in range(50):
                node = self.nodes[(index + attempt) % len(self.nodes)]
                if not node.alive:
                    continue
                try:
                    with smtplib.SMTP("127.0.0.1", node.port, timeout=30) as client:
                        client.sendmail("alice@example.test", [SUPPORT], self.mails[index])
                    with self.lock:
                        self.accepted += 1
                    break
                except (OSError, smtplib.SMTPException):
                    with self.lock:
                        self.retried.append(index)
                    time.sleep(0.2)
            else:
                raise AssertionError(f"mail {index} was never accepted")


def _count(sessions, model: type, *where: object) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_three_nodes_under_load_with_two_killed_make_each_mail_one_incident_with_one_ack_and_one_notice(
        shared_pg: str, tmp_path: Path, dovecot: Dovecot, mail_user: MailUser) -> None:  # noqa: F811
    sink = RelaySink().start()
    mailbox_mails = [customer_mail(subject=f"IMAP case {uuid.uuid4().hex}", message_id=f"<imap-{i}@example.test>")
                     for i in range(IMAP_MAILS)]
    dovecot.append_many(mail_user, mailbox_mails)
    smtp_mails = [customer_mail(subject=f"SMTP case {uuid.uuid4().hex}", message_id=f"<smtp-{i}@example.test>")
                  for i in range(SMTP_MAILS)]
    settings = settings_dict(
        tmp_path, shared_pg,
        database={"url": shared_pg, "shared": True},
        tokens={"secret_env": SECRET_ENV},
        relay={"host": "127.0.0.1", "port": sink.port, "timeout": 10},
        engineers={"addresses": ["yamada@vendor.example.test"], "queue_address": QUEUE, "locale": "en"},
        limits={"enabled": False},
        imap=[dovecot.account(mail_user, poll_interval=0.5)])
    env = {**os.environ, PASSWORD_ENV: mail_user.password, SECRET_ENV: "x" * 48}
    nodes = [Node(f"gw-{n}", tmp_path / f"gw-{n}", settings, env) for n in (1, 2, 3)]
    engine = make_engine(shared_pg)
    sessions = make_sessionmaker(engine)
    started = time.monotonic()
    try:
        for node in nodes:
            node.start()
        senders = Senders(nodes, smtp_mails)
        sending = threading.Thread(target=senders.run)
        sending.start()
        killed = []
        # First kill: the IMAP lease holder, once a quarter of the SMTP mail is in.
        wait_until(lambda: senders.accepted >= SMTP_MAILS // 4, 120, "a quarter of the SMTP mail")
        with sessions() as session:
            holder = session.scalar(select(Lease.holder))
        victim = next(node for node in nodes if node.name == holder)
        victim.kill()
        killed.append(victim.name)
        time.sleep(1.0)
        victim.start()
        # Second kill: another node, at three quarters.
        wait_until(lambda: senders.accepted >= 3 * SMTP_MAILS // 4, 120, "three quarters of the SMTP mail")
        victim = random.choice([node for node in nodes if node.name != killed[0]])
        victim.kill()
        killed.append(victim.name)
        time.sleep(1.0)
        victim.start()
        sending.join(240)
        total = SMTP_MAILS + IMAP_MAILS
        wait_until(lambda: dovecot.uids(mail_user) == [], 120, "the mailbox emptied", pause=0.5)
        wait_until(lambda: _count(sessions, InboundMessage, InboundMessage.state == codes.RECEIVED) == 0
                   and _count(sessions, InboundMessage) >= total, 120, "every mail processed", pause=0.5)
        try:
            wait_until(lambda: _count(sessions, OutboxMessage, OutboxMessage.state != codes.OUT_SENT) == 0,
                       120, "every letter sent", pause=0.5)
        except AssertionError:
            with sessions() as session:
                unsent = session.execute(select(OutboxMessage.id, OutboxMessage.state, OutboxMessage.claimed_by,
                                                OutboxMessage.next_attempt_at, OutboxMessage.last_error)
                                         .where(OutboxMessage.state != codes.OUT_SENT).limit(5)).all()
            raise AssertionError(f"letters not sent, e.g. {unsent}") from None
        elapsed = time.monotonic() - started
    except BaseException:
        engine.dispose()
        raise
    finally:
        for node in nodes:
            node.stop()
        sink.stop()

    try:
        _check(sessions, sink, dovecot, mail_user, nodes, senders, killed, elapsed)
    finally:
        engine.dispose()


def _check(sessions, sink: RelaySink, dovecot: Dovecot, mail_user: MailUser, nodes: list[Node],  # type: ignore[no-untyped-def]  # noqa: F811
           senders: Senders, killed: list[str], elapsed: float) -> None:
    total = SMTP_MAILS + IMAP_MAILS
    with sessions() as session:
        by_message_id = Counter(session.scalars(
            select(InboundMessage.message_id).where(InboundMessage.state == codes.PROCESSED)))
        incidents_per_mail = dict(session.execute(
            select(InboundMessage.message_id, func.count(func.distinct(InboundMessage.incident_id)))
            .where(InboundMessage.incident_id.is_not(None)).group_by(InboundMessage.message_id)).all())
        letters = Counter(session.execute(select(OutboxMessage.incident_id, OutboxMessage.kind)).all())
        senders_of = Counter(row.split(":")[0] for row in session.scalars(select(OutboxMessage.claimed_by)))
    print(f"\n{len(nodes)} nodes, {SMTP_MAILS} SMTP + {IMAP_MAILS} IMAP mails, kills {killed}: {elapsed:.0f} s; "
          f"sessions retried {len(senders.retried)}; letters sent per node {dict(senders_of)}")

    assert set(by_message_id) == {f"smtp-{i}@example.test" for i in range(SMTP_MAILS)} | {
        f"imap-{i}@example.test" for i in range(IMAP_MAILS)}
    assert [mail for mail, count in incidents_per_mail.items() if count != 1] == []  # none opened two incidents
    assert len({incident for incident, _ in letters}) == total
    assert all(letters[(incident, codes.KIND_ACK)] == 1 and letters[(incident, codes.KIND_NOTIFY)] == 1
               for incident, _ in letters)
    copies = Counter(m.message["Message-ID"] for m in sink.messages)
    assert len(copies) == 2 * total and sum(copies.values()) - len(copies) <= 2 * len(killed)
    processed = dovecot.uids(mail_user, "Processed")
    assert len(processed) == IMAP_MAILS  # each mailbox mail moved once, none copied twice
    assert len(senders_of) == len(nodes)  # every node sent its share
    unexpected = [line for node in nodes for line in node.error_lines()
                  if not any(marker in line.splitlines()[0] for marker in EXPECTED_ERRORS)]
    assert unexpected == [], "\n\n".join(unexpected)
