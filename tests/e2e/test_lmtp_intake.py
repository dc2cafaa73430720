"""LMTP intake (RFC 2033, issue 12): one reply per recipient after the commit, SMTP's rules, and a real
Postfix in front delivering to it through `transport_maps`."""

from __future__ import annotations

import smtplib
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.daemon.parts import StartupError
from gateway.settings import Settings, settings_from_dict
from store.db import make_engine, make_sessionmaker
from store.models import InboundMessage
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.postfix import PrivatePostfix, free_port, postfix_available
from tests.support.relay_sink import RelaySink

SUPPORT = "support@support.example.test"


class LmtpClient:
    """A plain LMTP conversation: smtplib.LMTP reads one reply after DATA, LMTP sends one per recipient."""

    def __init__(self, address: tuple[str, int] | Path) -> None:
        family = socket.AF_UNIX if isinstance(address, Path) else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.settimeout(15)
        self.socket.connect(str(address) if isinstance(address, Path) else address)
        self.reader = self.socket.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = self.reader.readline().decode()
            lines.append(line[4:].strip())
            if line[3:4] != "-":
                return int(line[:3]), "\n".join(lines)

    def command(self, line: str) -> tuple[int, str]:
        self.socket.sendall(line.encode() + b"\r\n")
        return self.reply()

    def data(self, raw: bytes, replies: int) -> list[tuple[int, str]]:
        assert self.command("DATA")[0] == 354
        body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.socket.sendall(b"".join(b"." + line if line.startswith(b".") else line
                                     for line in body.splitlines(keepends=True)) + b".\r\n")
        return [self.reply() for _ in range(replies)]

    def close(self) -> None:
        self.command("QUIT")
        self.reader.close()
        self.socket.close()


def _settings(tmp_path: Path, sqlite_url: str, relay_sink: RelaySink, listen: str, **lmtp: Any) -> Settings:
    return settings_from_dict(settings_dict(tmp_path, sqlite_url, lmtp={"listen": listen, **lmtp},
                                            relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5}))


@pytest.fixture
def daemon(tmp_path: Path, sqlite_url: str, relay_sink: RelaySink) -> Iterator[RunningDaemon]:
    running = RunningDaemon(_settings(tmp_path, sqlite_url, relay_sink, "127.0.0.1:0")).start()
    yield running
    running.stop()


def _address(daemon: RunningDaemon) -> tuple[str, int]:
    assert daemon.ready is not None and daemon.ready.lmtp is not None  # READY says where LMTP listens
    host, port = daemon.ready.lmtp.rsplit(":", 1)
    return host, int(port)


def _inbound(settings: Settings) -> list[InboundMessage]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(InboundMessage)))
    finally:
        engine.dispose()


def test_lmtp_answers_once_per_recipient_after_the_commit_and_refuses_other_recipients_with_550(
        daemon: RunningDaemon, relay_sink: RelaySink) -> None:
    client = LmtpClient(_address(daemon))
    assert client.greeting[0] == 220
    assert client.command("LHLO mx.vendor.example.test")[0] == 250
    assert client.command("MAIL FROM:<alice@example.test>")[0] == 250
    assert client.command(f"RCPT TO:<{SUPPORT}>")[0] == 250
    assert client.command("RCPT TO:<support+INC-000123@support.example.test>")[0] == 250
    refused = client.command("RCPT TO:<someone@elsewhere.test>")
    assert refused[0] == 550 and "relaying denied" in refused[1]
    replies = client.data(customer_mail(subject="Backup job fails"), replies=2)
    assert [code for code, _ in replies] == [250, 250]
    client.close()
    [ack] = relay_sink.wait_for(1, timeout=10)
    assert ack.message["Subject"].startswith("[INC-000001]")
    [stored] = _inbound(daemon.settings)
    assert stored.source == "lmtp"


def test_lmtp_refuses_a_mail_over_the_size_limit_with_552_for_each_recipient(daemon: RunningDaemon) -> None:
    client = LmtpClient(_address(daemon))
    client.command("LHLO mx.vendor.example.test")
    client.command("MAIL FROM:<alice@example.test>")
    client.command(f"RCPT TO:<{SUPPORT}>")
    client.command("RCPT TO:<support+x@support.example.test>")
    replies = client.data(customer_mail(body=("x" * 70 + "\n") * 4300), replies=2)  # over 200 kB
    assert [code for code, _ in replies] == [552, 552]
    assert client.command("HELO mx.vendor.example.test")[0] == 500  # LMTP has LHLO only (RFC 2033 §4.1)
    client.close()
    assert _inbound(daemon.settings) == []


def test_lmtp_on_a_unix_socket_takes_mail_and_the_socket_goes_away_at_stop(
        tmp_path: Path, sqlite_url: str, relay_sink: RelaySink) -> None:
    path = tmp_path / "run" / "lmtp"
    path.parent.mkdir()
    settings = _settings(tmp_path, sqlite_url, relay_sink, str(path), socket_mode="0660")
    running = RunningDaemon(settings).start()
    try:
        assert running.ready is not None and running.ready.lmtp == str(path)
        assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o660
        client = LmtpClient(path)
        client.command("LHLO mx.vendor.example.test")
        client.command("MAIL FROM:<alice@example.test>")
        client.command(f"RCPT TO:<{SUPPORT}>")
        assert [code for code, _ in client.data(customer_mail(), replies=1)] == [250]
        client.close()
        relay_sink.wait_for(1, timeout=10)
        [stored] = _inbound(settings)
        assert stored.source == "lmtp"
    finally:
        running.stop()
    assert not path.exists()


def test_an_lmtp_port_in_use_fails_the_start_naming_the_setting(
        tmp_path: Path, sqlite_url: str, relay_sink: RelaySink) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = RunningDaemon(_settings(tmp_path, sqlite_url, relay_sink, f"127.0.0.1:{port}"))
        with pytest.raises(RuntimeError):
            running.start()
    assert isinstance(running.error, StartupError) and "lmtp.listen" in str(running.error)


@pytest.mark.skipif(postfix_available() is not None, reason=str(postfix_available()))
def test_a_mail_submitted_to_postfix_in_front_ends_as_an_incident_and_an_ack(
        tmp_path: Path, sqlite_url: str, relay_sink: RelaySink) -> None:
    lmtp_port = free_port()
    daemon = RunningDaemon(_settings(tmp_path, sqlite_url, relay_sink, f"127.0.0.1:{lmtp_port}")).start()
    postfix = PrivatePostfix("support.example.test", f"lmtp:inet:127.0.0.1:{lmtp_port}", [SUPPORT])
    try:
        postfix.start()
        with smtplib.SMTP("127.0.0.1", postfix.port, timeout=10) as client:
            client.ehlo("client.example.test")
            client.mail("alice@example.test")
            assert client.rcpt("support+INC-000123@support.example.test")[0] == 250  # recipient_delimiter
            assert client.rcpt("nobody@support.example.test")[0] == 550  # Postfix refuses: no bounce later
            client.data(customer_mail(subject="Postfix hands this over"))
        [ack] = relay_sink.wait_for(1, timeout=20)
        assert ack.message["Subject"].startswith("[INC-000001]")
        assert ack.rcpt_tos == ["alice@example.test"]
        deadline = time.monotonic() + 5
        while "status=sent" not in postfix.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "relay=127.0.0.1" in postfix.log() and "status=sent (250 2.0.0 Ok: queued as" in postfix.log()
        [stored] = _inbound(daemon.settings)
        assert stored.source == "lmtp"
    except BaseException:
        print(postfix.log())
        raise
    finally:
        postfix.stop()
        daemon.stop()
