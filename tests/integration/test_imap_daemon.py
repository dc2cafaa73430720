"""The IMAP poller inside the real daemon: IDLE, a wrong password, a server restart, and a SIGKILL mid-batch.

These run serve() (in a thread, or as a real `support-gateway run` subprocess
for the kill test) against a private Dovecot, and watch what an operator would:
rows in the store, mail in the folders, log lines, `status` health rows.
"""

from __future__ import annotations

import logging
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.faults import CRASH_ENV
from gateway.settings import Settings
from store.checkpoints import ImapLedgerEntry, ImapMailboxHealth
from store.db import make_engine, make_sessionmaker
from store.inbound import InboundMessage
from store.incidents import Incident
from store.outbox import OutboxMessage
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.dovecot import (  # noqa: F401 - fixtures
    PASSWORD_ENV, Dovecot, MailUser, dovecot, mail_user, private_dovecot, settings_toml,
)
from tests.support.mails import customer_mail
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class Store:
    """Reads the daemon's database from the outside, as the CLI would."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)

    def count(self, model: type, *where: object) -> int:
        try:
            with self.sessions() as session:
                return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
        except Exception:  # noqa: BLE001 - the daemon may not have created the schema yet
            return 0

    def health(self) -> ImapMailboxHealth | None:
        try:
            with self.sessions() as session:
                return session.scalar(select(ImapMailboxHealth))
        except Exception:  # noqa: BLE001
            return None

    def acks_sent(self) -> int:
        return self.count(OutboxMessage, OutboxMessage.state == "sent")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    reader = Store(db_url)
    yield reader
    reader.engine.dispose()


@pytest.fixture
def running() -> Iterator[Callable[[Settings], RunningDaemon]]:
    daemons: list[RunningDaemon] = []

    def start(settings: Settings) -> RunningDaemon:
        daemons.append(RunningDaemon(settings).start())
        return daemons[-1]

    yield start
    for daemon in daemons:
        daemon.stop()


def test_idle_wakes_the_poller_within_a_second_of_mail_appended_by_another_client(
        make_settings, running, store: Store, dovecot: Dovecot, mail_user: MailUser,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, mail_user.password)
    running(make_settings(imap=[dovecot.account(mail_user, poll_interval=300, idle=True)]))
    wait_until(lambda: (h := store.health()) is not None and h.last_success_at is not None, 10, "the first poll")
    time.sleep(0.3)  # the poller is in IDLE now; only an EXISTS can wake it before 300 s
    dovecot.append(mail_user, [customer_mail(subject="Woken by IDLE")])
    appended = time.monotonic()
    wait_until(lambda: store.count(InboundMessage) == 1, 5, "the mail to be imported")
    elapsed = time.monotonic() - appended
    wait_until(lambda: store.acks_sent() == 1, 10, "the acknowledgement")
    assert elapsed < 1.0, f"imported {elapsed:.2f} s after the APPEND"
    assert store.count(Incident) == 1
    wait_until(lambda: dovecot.uids(mail_user) == [], 10, "the move to Processed")
    assert len(dovecot.uids(mail_user, "Processed")) == 1


def test_a_wrong_password_gives_one_clear_error_and_a_long_backoff_not_a_retry_loop(
        make_settings, running, store: Store, dovecot: Dovecot, mail_user: MailUser,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    failures_before = dovecot.login_failures()
    with caplog.at_level(logging.INFO):
        daemon = running(make_settings(imap=[dovecot.account(mail_user)]))
        wait_until(lambda: dovecot.login_failures() > failures_before, 10, "the failed login")
        time.sleep(4)  # a window in which a retry loop would have logged in again and again
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:  # the daemon itself is fine
            client.sendmail("alice@example.test", ["support@support.example.test"], customer_mail())
    assert dovecot.login_failures() - failures_before == 1
    errors = [r.getMessage() for r in caplog.records
              if r.levelno == logging.ERROR and "authentication failed" in r.getMessage()]
    assert len(errors) == 1
    assert "imap[support]" in errors[0] and mail_user.name in errors[0] and "next attempt in 900 s" in errors[0]
    health = store.health()
    assert health is not None and health.last_success_at is None
    assert health.last_error is not None and "authentication failed" in health.last_error


def test_the_poller_recovers_after_the_imap_server_is_stopped_and_started_again(
        make_settings, running, store: Store, private_dovecot: Dovecot,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    user = private_dovecot.add_user()
    monkeypatch.setenv(PASSWORD_ENV, user.password)
    running(make_settings(imap=[private_dovecot.account(user, poll_interval=0.5)]))
    private_dovecot.append(user, [customer_mail(subject="Before the outage")])
    wait_until(lambda: store.count(InboundMessage) == 1, 10, "the first mail")
    # (Killed in the middle of a MOVE, Dovecot can leave the mail in both folders: the ledger
    # still imports it once, but Processed would hold two copies. Wait for the move to finish.)
    wait_until(lambda: private_dovecot.uids(user) == [], 10, "the first move")
    private_dovecot.stop()
    wait_until(lambda: (h := store.health()) is not None and h.consecutive_failures > 0, 15,
               "the outage to show in the health row")
    private_dovecot.start()
    private_dovecot.append(user, [customer_mail(subject="After the outage")])
    wait_until(lambda: store.count(InboundMessage) == 2, 30, "mail sent after the restart")
    wait_until(lambda: store.acks_sent() == 2, 10, "both acknowledgements")
    wait_until(lambda: private_dovecot.uids(user) == [], 10, "the move to Processed")
    assert len(private_dovecot.uids(user, "Processed")) == 2
    health = store.health()
    assert health is not None and health.consecutive_failures == 0 and health.last_error is not None


def test_a_gateway_killed_between_commit_and_move_imports_the_mail_exactly_once_after_a_restart(
        db_url: str, tmp_path: Path, store: Store, dovecot: Dovecot, mail_user: MailUser) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(settings_toml(settings_dict(tmp_path, db_url, imap=[dovecot.account(mail_user)])),
                      encoding="utf-8")
    [uid] = dovecot.append(mail_user, [customer_mail(subject="Exactly once, please")])
    command = [sys.executable, "-m", "gateway", "--config", str(config), "run"]
    env = {**os.environ, PASSWORD_ENV: mail_user.password}
    env.pop(CRASH_ENV, None)

    crashed = subprocess.run(command, env={**env, CRASH_ENV: "imap-after-commit"}, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    assert store.count(ImapLedgerEntry) == 1  # committed ...
    assert dovecot.uids(mail_user) == [uid]  # ... and not moved: the crash came in between

    with (tmp_path / "second.log").open("w") as log, \
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True) as daemon:
        try:
            assert daemon.stdout is not None and "SMTP on" in daemon.stdout.readline()
            wait_until(lambda: dovecot.uids(mail_user) == [], 15, "the move after the restart")
            wait_until(lambda: store.acks_sent() == 1, 15, "the acknowledgement")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
    assert daemon.returncode == 0
    assert len(dovecot.uids(mail_user, "Processed")) == 1
    assert (store.count(InboundMessage), store.count(Incident), store.count(OutboxMessage)) == (1, 1, 1)
    assert store.count(ImapLedgerEntry) == 1
