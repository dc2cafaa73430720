"""Several nodes on one database (issue 15): leases, the customers sync race, counters, single-node SQLite."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import FixedClock, SystemClock
from gateway.settings import SettingsError
from gateway.single_node import NodeLock, check_node_settings
from gateway.token_secret import load_token_secret
from gateway.work.directory import sync_customers
from store.customers import Customer
from store.inbound import InboundMessage
from store.leases import all_leases, release, take_or_renew
from store.sql import reserve_values
from tests.support.dovecot import Dovecot, MailUser, dovecot, mail_user  # noqa: F401 - fixtures
from tests.support.mails import customer_mail
from gateway.intake.imap import ImapPoller


def test_only_one_node_holds_a_lease_until_it_runs_out_then_another_takes_it_over(
        sessions: sessionmaker[Session], clock: FixedClock) -> None:
    now = clock.now()
    with sessions.begin() as session:
        assert take_or_renew(session, "imap:support", "gw-1", now, 30)
        assert not take_or_renew(session, "imap:support", "gw-2", now + timedelta(seconds=10), 30)
        assert take_or_renew(session, "imap:support", "gw-1", now + timedelta(seconds=20), 30)  # renewed
        assert not take_or_renew(session, "imap:support", "gw-2", now + timedelta(seconds=45), 30)
        assert take_or_renew(session, "imap:support", "gw-2", now + timedelta(seconds=51), 30)  # ran out
        assert not take_or_renew(session, "imap:support", "gw-1", now + timedelta(seconds=52), 30)
        [lease] = all_leases(session)
    assert (lease.holder, lease.taken_at) == ("gw-2", now + timedelta(seconds=51))


def test_a_released_lease_is_taken_at_once_by_a_standby_node(sessions: sessionmaker[Session],
                                                             clock: FixedClock) -> None:
    with sessions.begin() as session:
        assert take_or_renew(session, "imap:support", "gw-1", clock.now(), 30)
        release(session, "imap:support", "gw-1")
        assert take_or_renew(session, "imap:support", "gw-2", clock.now(), 30)


@pytest.mark.postgres
def test_two_nodes_syncing_customers_at_the_same_moment_neither_fails_nor_doubles_a_row(
        make_settings, sessions: sessionmaker[Session], clock: FixedClock, db_url: str) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is single-node (gateway.single_node)")
    customers = make_settings().customers
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def node() -> None:
        try:
            barrier.wait()
            with sessions.begin() as session:
                sync_customers(session, customers, clock.now())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == len(customers)


def test_nodes_reserving_the_first_incident_numbers_together_get_distinct_numbers_without_gaps(
        sessions: sessionmaker[Session], db_url: str) -> None:
    got: list[int] = []
    errors: list[BaseException] = []
    count = 4 if db_url.startswith("postgresql") else 1  # SQLite: one node (gateway.single_node)
    barrier = threading.Barrier(count)

    def node() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with sessions.begin() as session:
                    got.append(reserve_values(session, "incident_number", 1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(got) == list(range(1, len(got) + 1))


def test_a_shared_database_without_a_configured_token_secret_refuses_to_start(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(database={"shared": True})
    with pytest.raises(SettingsError, match="same reply-token secret on every node"):
        load_token_secret(settings, create=False)


def test_shared_on_sqlite_is_refused_with_a_clear_error(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(database={"url": f"sqlite:///{tmp_path / 'gw.db'}", "shared": True})
    with pytest.raises(SettingsError, match="SQLite is for a single node"):
        check_node_settings(settings)


def test_a_second_daemon_on_the_same_sqlite_file_is_refused_naming_the_first(make_settings,  # type: ignore[no-untyped-def]
                                                                             tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    first = NodeLock(make_settings(database={"url": url}, gateway={"node": "gw-1"}))
    first.acquire()
    try:
        with pytest.raises(SettingsError, match=r"in use by node gw-1 .*single node"):
            NodeLock(make_settings(database={"url": url})).acquire()
    finally:
        first.release()
    NodeLock(make_settings(database={"url": url})).acquire()  # free again once the first one stopped


def test_two_nodes_polling_one_mailbox_import_and_move_each_mail_once_and_the_standby_takes_over(
        make_settings, dovecot: Dovecot, mail_user: MailUser, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(imap=[{**dovecot.account(mail_user), "poll_interval": 1.0, "idle": False}])
    account = settings.imap[0]
    dovecot.append(mail_user, [customer_mail(subject=f"Mail {n}", message_id=f"<node{n}@example.test>")
                               for n in range(40)])

    def poller(node: str) -> tuple[ImapPoller, threading.Thread]:
        running = ImapPoller(account, mail_user.password, sessions, SystemClock(),
                             max_size=settings.smtp.max_message_size, node=node)
        thread = threading.Thread(target=running.run, name=f"poller-{node}")
        thread.start()
        return running, thread

    first, second = poller("gw-1"), poller("gw-2")
    _wait_for(lambda: len(dovecot.uids(mail_user, "Processed")) == 40 and dovecot.uids(mail_user) == [])
    with sessions() as session:
        [lease] = all_leases(session)
    holder, standby = (first, second) if lease.holder == "gw-1" else (second, first)
    holder[0].stop.set()
    holder[1].join(10)  # a clean stop releases the lease
    dovecot.append(mail_user, [customer_mail(subject="After the stop", message_id="<node-after@example.test>")])
    _wait_for(lambda: len(dovecot.uids(mail_user, "Processed")) == 41)
    with sessions() as session:
        assert [item.holder for item in all_leases(session)] == [standby[0].lease.node]  # type: ignore[union-attr]
    standby[0].stop.set()
    standby[1].join(10)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 41


def _wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_status_names_the_node_holding_each_mailbox_and_says_when_its_lease_ran_out(
        sessions: sessionmaker[Session], clock: FixedClock) -> None:
    from gateway.ops.nodes_view import mailbox_holder_lines

    with sessions.begin() as session:
        take_or_renew(session, "imap:support", "gw-2", clock.now(), 30)
    [line] = mailbox_holder_lines(sessions, clock.now())
    assert "imap:support: held by node gw-2" in line and "until" in line
    [line] = mailbox_holder_lines(sessions, clock.now() + timedelta(seconds=31))
    assert "ran out" in line
