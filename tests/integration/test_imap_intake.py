"""IMAP intake against a real Dovecot, one poll at a time: exactly once, whatever people do to the mailbox.

The poller runs in-process with poll_once() and the rest of the pipeline with
run_until_idle(), so each test is deterministic; the daemon-level behaviours
(IDLE, back-off, restarts, a SIGKILL) are in test_imap_daemon.py.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway import codes
from gateway.ops import views
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.cli import main as cli_main
from gateway.intake.imap_conn import IMPORTED_KEYWORD
from gateway.intake.imap import ImapPoller
from gateway.settings import Settings
from store.checkpoints import ImapLedgerEntry
from store.inbound import InboundMessage
from tests.support.dovecot import Dovecot, MailUser, dovecot, mail_user, settings_toml  # noqa: F401 - fixtures
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml


@pytest.fixture
def imap_settings(make_settings, dovecot: Dovecot, mail_user: MailUser) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(imap=[dovecot.account(mail_user)])


@pytest.fixture
def pipeline(imap_settings: Settings, sessions: sessionmaker[Session], clock: FixedClock) -> Pipeline:
    return Pipeline(build_app(imap_settings), sessions, clock)


def make_poller(settings: Settings, user: MailUser, sessions: sessionmaker[Session], clock: FixedClock,
                **overrides: Any) -> ImapPoller:
    imap = settings.imap[0].model_copy(update=overrides)
    return ImapPoller(imap, user.password, sessions, clock, max_size=settings.smtp.max_message_size)


@pytest.fixture
def poller(imap_settings: Settings, mail_user: MailUser, sessions: sessionmaker[Session],
           clock: FixedClock) -> Iterator[ImapPoller]:
    running = make_poller(imap_settings, mail_user, sessions, clock)
    yield running
    running.close()


def inbound_rows(sessions: sessionmaker[Session]) -> list[InboundMessage]:
    with sessions() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def test_new_mail_in_the_inbox_becomes_an_incident_with_an_ack_and_is_moved_to_processed(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline) -> None:
    dovecot.append(mail_user, [customer_mail(subject="Backup fails", message_id="<imap1@example.test>")])
    poller.poll_once()
    pipeline.run_until_idle()
    [incident] = pipeline.incidents()
    assert incident.subject == "Backup fails"
    ack = read_eml(pipeline.sent_files()[0])
    assert ack["To"] == "alice@example.test" and ack["In-Reply-To"] == "<imap1@example.test>"
    assert dovecot.uids(mail_user) == []
    assert len(dovecot.uids(mail_user, "Processed")) == 1
    [row] = inbound_rows(pipeline.sessions)
    assert (row.source, row.mail_from) == (codes.SOURCE_IMAP, "alice@example.test")
    assert row.rcpt_tos == ["support@support.example.test"]  # the login is no address: To/Cc
    assert row.source_ref is not None and row.source_ref.startswith(f"imap:support/INBOX/{dovecot.uidvalidity(mail_user)}/")


def test_mail_already_read_by_a_person_in_another_client_is_still_imported(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline) -> None:
    dovecot.append(mail_user, [customer_mail(subject="Read already")], flags=(b"\\Seen",))
    poller.poll_once()
    pipeline.run_until_idle()
    assert [i.subject for i in pipeline.incidents()] == ["Read already"]
    assert dovecot.uids(mail_user) == []


def test_a_second_poll_imports_nothing_twice(dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller,
                                             pipeline: Pipeline) -> None:
    dovecot.append(mail_user, [customer_mail(), customer_mail()])
    first, second = poller.poll_once(), poller.poll_once()
    assert (first.imported, second.found, second.progress) == (2, 0, 0)
    pipeline.run_until_idle()
    assert len(pipeline.incidents()) == 2


def test_flag_mode_leaves_mail_in_place_marked_imported_and_unread_and_imports_it_once(
        dovecot: Dovecot, mail_user: MailUser, imap_settings: Settings, sessions: sessionmaker[Session],
        clock: FixedClock, pipeline: Pipeline) -> None:
    [uid] = dovecot.append(mail_user, [customer_mail(subject="Flag me")])
    poller = make_poller(imap_settings, mail_user, sessions, clock, mode="flag")
    try:
        assert poller.poll_once().imported == 1
        assert poller.poll_once().found == 0  # SEARCH NOT KEYWORD skips it
    finally:
        poller.close()
    pipeline.run_until_idle()
    assert [i.subject for i in pipeline.incidents()] == ["Flag me"]
    flags = dovecot.flags(mail_user)[uid]
    assert IMPORTED_KEYWORD.encode() in flags
    assert b"\\Seen" not in flags  # BODY.PEEK[]: the humans still see it as unread
    assert dovecot.uids(mail_user, "Processed") == []


def test_a_recreated_mailbox_with_a_new_uidvalidity_is_rescanned_without_duplicates(
        db_url: str, dovecot: Dovecot, mail_user: MailUser, imap_settings: Settings,
        sessions: sessionmaker[Session], clock: FixedClock, pipeline: Pipeline,
        caplog: pytest.LogCaptureFixture) -> None:
    mails = [customer_mail(subject=f"Case {n}", message_id=f"<uv{n}@example.test>") for n in range(3)]
    dovecot.append(mail_user, mails, mailbox="Support")
    poller = make_poller(imap_settings, mail_user, sessions, clock, mailbox="Support", mode="flag")
    try:
        assert poller.poll_once().imported == 3
        before = dovecot.uidvalidity(mail_user, "Support")
        dovecot.recreate_mailbox(mail_user, "Support")
        # The same mails come back: two byte for byte, one with a header a restore tool added.
        restored = mails[:2] + [b"X-Restored-By: backup-tool\r\n" + mails[2]]
        dovecot.append(mail_user, restored, mailbox="Support")
        assert dovecot.uidvalidity(mail_user, "Support") != before
        with caplog.at_level(logging.WARNING, logger="gateway.intake.imap_poll"):
            again = poller.poll_once()
    finally:
        poller.close()
    assert (again.imported, again.duplicates) == (0, 3)
    assert any("UIDVALIDITY" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    pipeline.run_until_idle()
    assert len(inbound_rows(sessions)) == 3
    assert sorted(i.subject for i in pipeline.incidents()) == ["Case 0", "Case 1", "Case 2"]


def test_an_oversize_mail_is_kept_quarantined_and_moved_aside_and_the_mail_after_it_arrives(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline) -> None:
    big = customer_mail(subject="Huge log attached", body="x" * 300_000 + "\n")  # limit is 200,000
    dovecot.append(mail_user, [big, customer_mail(subject="Small one")])
    stats = poller.poll_once()
    assert (stats.quarantined, stats.imported) == (1, 1)
    pipeline.run_until_idle()
    assert [i.subject for i in pipeline.incidents()] == ["Small one"]
    held, small = inbound_rows(pipeline.sessions)
    assert (held.state, held.reason) == (codes.QUARANTINED, "oversize")
    assert held.detail is not None and "Processed" in held.detail
    assert dovecot.uids(mail_user) == [] and len(dovecot.uids(mail_user, "Processed")) == 2


def test_an_unparseable_mail_is_quarantined_and_does_not_block_the_mail_after_it(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline) -> None:
    dovecot.append(mail_user, [b"\x00\x01 this is not a mail at all\r\n", customer_mail(subject="Fine")])
    poller.poll_once()
    pipeline.run_until_idle()
    broken, fine = inbound_rows(pipeline.sessions)
    assert (broken.state, broken.reason) == (codes.QUARANTINED, codes.UNPARSEABLE)
    assert fine.state == codes.PROCESSED
    assert [i.subject for i in pipeline.incidents()] == ["Fine"]
    assert dovecot.uids(mail_user) == []


def test_a_mail_the_server_cannot_read_is_retried_then_left_in_the_mailbox_and_never_blocks_the_rest(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline, imap_settings: Settings,
        capsys: pytest.CaptureFixture[str]) -> None:
    uids = dovecot.append(mail_user, [customer_mail(subject=f"Mail {n}") for n in range(3)])
    os.chmod(dovecot.message_file(mail_user, uids[1]), 0)  # the server's read fails: Dovecot says BYE
    first = poller.poll_once()
    assert (first.imported, first.unreadable) == (2, 1)
    assert dovecot.uids(mail_user) == [uids[1]]
    for _ in range(3):  # retried on the next polls, then given up (no endless reconnects)
        poller.poll_once()
    with pipeline.sessions() as session:
        [entry] = session.scalars(select(ImapLedgerEntry).where(ImapLedgerEntry.outcome == "unreadable"))
        assert entry.attempts == 3
    pipeline.run_until_idle()
    assert sorted(i.subject for i in pipeline.incidents()) == ["Mail 0", "Mail 2"]
    assert dovecot.uids(mail_user) == [uids[1]]  # still there for a person: nothing is lost
    _status(imap_settings, capsys)
    out = capsys.readouterr().out
    assert "unreadable 1" in out and f"UID {uids[1]} unreadable" in out


def test_a_bounce_in_the_mailbox_is_stored_but_never_answered(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, pipeline: Pipeline) -> None:
    bounce = b"Return-Path: <>\r\n" + customer_mail(sender="mailer-daemon@example.test", subject="Undelivered")
    dovecot.append(mail_user, [bounce])
    poller.poll_once()
    pipeline.run_until_idle()
    [row] = inbound_rows(pipeline.sessions)
    assert (row.mail_from, row.state) == ("", codes.IGNORED)
    assert pipeline.incidents() == [] and pipeline.sent_files() == []


def test_a_mailbox_of_2000_mails_drains_completely(
        db_url: str, dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller,
        sessions: sessionmaker[Session]) -> None:
    dovecot.append_many(mail_user, [customer_mail(subject=f"Mail {n}") for n in range(2000)])
    stats = poller.poll_once()
    assert stats.imported == 2000
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 2000
        assert session.scalar(select(func.count()).select_from(ImapLedgerEntry)) == 2000
    assert dovecot.uids(mail_user) == []
    assert len(dovecot.uids(mail_user, "Processed")) == 2000


def test_status_shows_each_mailbox_with_its_last_successful_poll_and_counts(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, imap_settings: Settings,
        capsys: pytest.CaptureFixture[str]) -> None:
    dovecot.append(mail_user, [customer_mail(), customer_mail()])
    poller.poll_once()
    code = _status(imap_settings, capsys)
    out = capsys.readouterr().out
    assert "imap support INBOX" in out
    assert "last successful poll: 2026-11-24T01:00:00+00:00" in out  # the test clock's instant
    assert "imported 2, duplicates 0, quarantined 0, unreadable 0" in out
    assert code in (0, 1)  # 1 when stale against the wall clock: see the next test


def test_status_calls_a_poller_stale_when_its_last_good_poll_is_three_intervals_old(
        dovecot: Dovecot, mail_user: MailUser, poller: ImapPoller, imap_settings: Settings,
        sessions: sessionmaker[Session], clock: FixedClock) -> None:
    poller.poll_once()
    [fresh] = views.imap_status(sessions, imap_settings, clock.now() + timedelta(seconds=30))
    [stuck] = views.imap_status(sessions, imap_settings, clock.now() + timedelta(minutes=5))
    assert (fresh["stale"], stuck["stale"]) == (False, True)
    assert views.format_imap_status(stuck).startswith("imap support INBOX: STALE")


def _status(settings: Settings, capsys: pytest.CaptureFixture[str]) -> int:
    """`support-gateway status` on a settings file equal to `settings`; returns the exit code."""
    path = Path(settings.gateway.data_dir) / "status.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings_toml(settings.model_dump(mode="json")), encoding="utf-8")
    capsys.readouterr()
    return cli_main(["--config", str(path), "status"])
