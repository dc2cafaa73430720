"""PostgreSQL goes away under a running daemon and comes back (issue 15, README "Running several nodes").

The test runs a throw-away PostgreSQL cluster of its own (initdb/pg_ctl, as scripts/test.sh
does when none answers) so that it can stop it the hard way (`pg_ctl stop -m immediate`, as a
crash or a failover does) and start it again on the same port. One real `support-gateway run`
subprocess uses it. What the desk must see:

- while the store is away, SMTP answers 4xx (451) to every DATA and never 250: a 250 promises a
  commit (RFC 5321 §4.2.5: a 4yz reply makes the sending MTA keep the mail and retry);
- once it is back, within a few seconds mail is accepted with 250 again, processed, and its
  acknowledgement reaches the relay — through the same work process, no restart;
- mail accepted just before the stop is neither lost nor doubled: one incident and one ack each;
- the IMAP poller leaves its mailbox alone while it cannot renew its lease and takes it back after;
- connections the server ends mid-query (pg_terminate_backend) quarantine no mail: the store's
  trouble is not the mail's (gateway/work/prepare.py and processor.py re-raise it, the loop waits).
"""

from __future__ import annotations

import glob
import os
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gateway import codes
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage
from store.leases import Lease
from store.outbox import OutboxMessage
from tests.conftest import settings_dict
from tests.e2e.test_several_nodes import Node
from tests.support.dovecot import PASSWORD_ENV, Dovecot, MailUser, dovecot, mail_user  # noqa: F401
from tests.support.mails import customer_mail
from tests.support.processes import work_processes
from tests.support.relay_sink import RelaySink, free_port
from tests.support.waiting import wait_until

SUPPORT = "support@support.example.test"
# What a store outage may leave in the log: errors whose cause is the driver's OperationalError
# (connection refused, server closed the connection, the database system is starting up).
EXPECTED_CAUSE = "OperationalError"


class Cluster:
    """A private PostgreSQL cluster on a free loopback port, stoppable like a crashed server."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            pytest.skip("no initdb in /usr/lib/postgresql/*/bin (Debian's postgresql package): "
                        "the failover test needs a cluster of its own to stop and start")
        self.bin = Path(binaries[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="sg-failover-pg-"))
        self.port = free_port()
        self.run_as: list[str] = []
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bin / program), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-w", "-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop_immediately(self) -> None:
        """`-m immediate`: the server quits without a checkpoint and cuts every connection (a crash)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")

    def remove(self) -> None:
        subprocess.run([*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    own = Cluster()
    try:
        yield own
    finally:
        own.remove()


def _send(port: int, mail: bytes) -> int:
    """One SMTP transaction; the DATA reply code (or 0 when the session itself failed)."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("alice@example.test", [SUPPORT], mail)
        return 250
    except smtplib.SMTPDataError as refused:
        return refused.smtp_code
    except smtplib.SMTPResponseException as refused:
        return refused.smtp_code
    except (OSError, smtplib.SMTPException):
        return 0


def _node_settings(tmp_path: Path, cluster: Cluster, sink: RelaySink, **extra: object) -> dict[str, object]:
    """One node on the test's own cluster, sending to the relay sink, without rate limits."""
    return settings_dict(tmp_path, cluster.url, database={"url": cluster.url},
                         relay={"host": "127.0.0.1", "port": sink.port, "timeout": 10},
                         limits={"enabled": False}, **extra)


def test_while_postgresql_is_down_smtp_answers_451_and_once_it_is_back_mail_flows_again_without_a_restart(
        cluster: Cluster, tmp_path: Path) -> None:
    sink = RelaySink().start()
    settings = _node_settings(tmp_path, cluster, sink)
    node = Node("gw-1", tmp_path / "gw-1", settings, dict(os.environ))
    message_ids: dict[str, int] = {}  # Message-ID → the DATA reply it got
    mails = iter(range(10_000))

    def send_one() -> int:
        number = next(mails)
        message_id = f"failover-{number}@example.test"
        code = _send(node.port, customer_mail(subject=f"Failover case {number}", message_id=f"<{message_id}>"))
        message_ids[message_id] = code
        return code

    try:
        node.start()
        assert node.process is not None
        time.sleep(1.0)  # the work process is started after READY
        workers_before = work_processes(node.process.pid)
        assert workers_before, "no work process under the daemon"
        # Accepted just before the crash: committed, perhaps not yet processed or acknowledged.
        assert [send_one() for _ in range(10)] == [250] * 10
        cluster.stop_immediately()

        during = [send_one() for _ in range(5)]
        assert during and all(400 <= code < 500 for code in during), during  # 451, never 250

        cluster.start()
        back = time.monotonic()
        while send_one() != 250:
            assert time.monotonic() - back < 15, "no 250 within 15 s of PostgreSQL being back"
            time.sleep(0.2)
        recovered = time.monotonic() - back
        assert [send_one() for _ in range(5)] == [250] * 5
        accepted = sorted(mid for mid, code in message_ids.items() if code == 250)
        wait_until(lambda: {str(m.message["In-Reply-To"]).strip("<>") for m in sink.messages} >= set(accepted),
                   60, "every accepted mail's acknowledgement at the relay", pause=0.2)
        assert node.alive
        assert work_processes(node.process.pid) == workers_before  # recovered in place, not restarted
    finally:
        node.stop()
        sink.stop()

    engine = make_engine(cluster.url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        stored = Counter(session.scalars(select(InboundMessage.message_id)))
        quarantined = list(session.scalars(select(InboundMessage.message_id)
                                           .where(InboundMessage.state == codes.QUARANTINED)))
        incidents_per_mail = dict(session.execute(
            select(InboundMessage.message_id, func.count(func.distinct(InboundMessage.incident_id)))
            .group_by(InboundMessage.message_id)).all())
        acks = Counter(session.scalars(select(OutboxMessage.incident_id).where(OutboxMessage.kind == codes.KIND_ACK)))
    engine.dispose()
    refused = {mid for mid, code in message_ids.items() if code != 250}
    print(f"\nfailover: 250 again {recovered:.1f} s after PostgreSQL was back; {len(accepted)} accepted, "
          f"{len(refused)} refused with {sorted(set(code for code in message_ids.values() if code != 250))}")
    assert stored == Counter(accepted)  # each accepted mail stored once; none of the refused ones
    assert quarantined == []  # a store outage is no fault of the mail
    assert all(count == 1 for count in incidents_per_mail.values())
    assert len(acks) == len(accepted) and set(acks.values()) == {1}
    copies = Counter(str(m.message["In-Reply-To"]) for m in sink.messages)
    # A letter on the wire when the store crashed may go twice (the sender's "sent" was not yet
    # durable, store.db durable_commits=False); nothing else may.
    assert sum(copies.values()) - len(copies) <= 2
    unexpected = [line for line in node.error_lines()
                  if EXPECTED_CAUSE not in line]
    assert unexpected == [], "\n\n".join(unexpected)


def test_connections_cut_by_the_server_as_a_failover_does_quarantine_no_mail_and_open_each_incident_once(
        cluster: Cluster, tmp_path: Path) -> None:
    """The server ends every connection of the daemon's now and then while mail flows
    (pg_terminate_backend: what clients see when a primary fails over and is back at once).
    A customer's mail is never quarantined for the store's trouble: it waits, received, and is
    processed once the next connection works; a 451 is resent, as an MTA does."""
    sink = RelaySink().start()
    settings = _node_settings(tmp_path, cluster, sink)
    node = Node("gw-1", tmp_path / "gw-1", settings, dict(os.environ))
    engine = make_engine(cluster.url)
    cutting = threading.Event()
    cuts = 0

    def cut_connections() -> None:
        nonlocal cuts
        with engine.connect() as connection:
            while not cutting.is_set():
                cuts += int(connection.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND datname = current_database() AND backend_type = 'client backend' AND state <> 'idle'")).scalar() or 0)
                connection.commit()
                cutting.wait(0.01)

    mails = 300
    replies: Counter[int] = Counter()

    def send(slot: int) -> None:
        for number in range(slot, mails, 3):
            mail = customer_mail(subject=f"Cut case {number}", message_id=f"<cut-{number}@example.test>")
            for _ in range(100):  # an MTA resends after a 4xx
                code = _send(node.port, mail)
                replies[code] += 1
                if code == 250:
                    break
                time.sleep(0.1)

    try:
        node.start()
        cutter = threading.Thread(target=cut_connections)
        cutter.start()
        senders = [threading.Thread(target=send, args=(slot,)) for slot in range(3)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        time.sleep(1.0)  # cuts go on while the last mails are processed
        cutting.set()
        cutter.join()
        sessions = make_sessionmaker(engine)
        wait_until(lambda: _count(sessions, InboundMessage.state == codes.RECEIVED) == 0, 60,
                   "every mail processed", pause=0.2)
        with sessions() as session:
            states = Counter(session.scalars(select(InboundMessage.state)))
            reasons = list(session.execute(select(InboundMessage.message_id, InboundMessage.reason)
                                           .where(InboundMessage.state == codes.QUARANTINED)).all())
            incidents_per_mail = dict(session.execute(
                select(InboundMessage.message_id, func.count(func.distinct(InboundMessage.incident_id)))
                .group_by(InboundMessage.message_id)).all())
    finally:
        cutting.set()
        node.stop()
        sink.stop()
        engine.dispose()
    print(f"\nconnection cuts: {cuts} backends ended; SMTP replies {dict(replies)}; inbound states {dict(states)}")
    assert reasons == []
    assert set(incidents_per_mail) == {f"cut-{number}@example.test" for number in range(mails)}
    assert all(count == 1 for count in incidents_per_mail.values())


def _count(sessions, *where: object) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage).where(*where)) or 0)


def test_the_imap_poller_takes_its_mailbox_back_after_postgresql_returns_and_moves_each_mail_once(
        cluster: Cluster, tmp_path: Path, dovecot: Dovecot, mail_user: MailUser) -> None:  # noqa: F811
    """The IMAP lease lives in the store: while it is away the poller cannot renew it and stops
    touching the mailbox; once the store is back it holds the lease again (same process) and
    mail waiting in the mailbox becomes one incident each, moved to Processed once."""
    sink = RelaySink().start()
    settings = _node_settings(tmp_path, cluster, sink, imap=[dovecot.account(mail_user, poll_interval=0.5)])
    node = Node("gw-1", tmp_path / "gw-1", settings, {**os.environ, PASSWORD_ENV: mail_user.password})
    before = [customer_mail(subject=f"IMAP before {n}", message_id=f"<imap-before-{n}@example.test>") for n in range(5)]
    after = [customer_mail(subject=f"IMAP after {n}", message_id=f"<imap-after-{n}@example.test>") for n in range(5)]
    try:
        node.start()
        dovecot.append_many(mail_user, before)
        wait_until(lambda: dovecot.uids(mail_user) == [], 30, "the mailbox drained before the stop", pause=0.2)
        cluster.stop_immediately()
        dovecot.append_many(mail_user, after)  # arrives while the store is away
        time.sleep(2.0)  # a few poll intervals without the store
        cluster.start()
        wait_until(lambda: dovecot.uids(mail_user) == [], 30, "the mailbox drained after the store came back",
                   pause=0.2)
        engine = make_engine(cluster.url)
        sessions = make_sessionmaker(engine)
        wait_until(lambda: _count(sessions, InboundMessage.state == codes.RECEIVED) == 0
                   and _count(sessions) == len(before) + len(after), 30, "every IMAP mail processed", pause=0.2)
        with sessions() as session:
            holder = session.scalar(select(Lease.holder))
            incidents_per_mail = dict(session.execute(
                select(InboundMessage.message_id, func.count(func.distinct(InboundMessage.incident_id)))
                .group_by(InboundMessage.message_id)).all())
        engine.dispose()
        assert node.alive
    finally:
        node.stop()
        sink.stop()
    assert holder == "gw-1"
    assert set(incidents_per_mail) == {f"imap-{when}-{n}@example.test" for when in ("before", "after") for n in range(5)}
    assert all(count == 1 for count in incidents_per_mail.values())
    assert len(dovecot.uids(mail_user, "Processed")) == len(before) + len(after)  # each moved once
