"""Issue 11 over real SMTP (and IMAP): files travel both ways, one engineers' thread, one incident per Message-ID.

A Japanese customer (ISO-2022-JP) and an English one each send a log file and
get an engineer's PDF with a Japanese name back; what is checked is what the
relay sink received, as a mail client would read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from gateway import codes
from gateway.clock import FixedClock
from gateway.ops.cli import main
from gateway.settings import Settings, load_settings
from tests.conftest import T0, settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.desk import SUPPORT, Desk
from tests.support.dovecot import (  # noqa: F401 - fixtures
    PASSWORD_ENV, Dovecot, MailUser, dovecot, mail_user, settings_toml,
)
from tests.support.relay_sink import Received, RelaySink

ENGINEER = "yamada@vendor.example.test"
QUEUE = "engineers@vendor.example.test"
DAN, CAROL = "dan@jis.test", "carol@acme.test"
LOG = "2026-11-24 02:00:01 エージェント: バックアップ失敗 0x80070005\n".encode("utf-8") * 50 + bytes(range(256))
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 200 + b"\n%%EOF\n"
PDF_NAME = "バックアップ設定手順書.pdf"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)  # Tuesday 10:00 JST


def config(tmp_path: Path, db_url: str, relay_sink: RelaySink, **overrides: object) -> Settings:
    """The settings, written as a file too, so `support-gateway attachments get` reads the same ones."""
    data = settings_dict(tmp_path, db_url, gateway={"work_process": False},
                         relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                         engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en",
                                    **overrides.pop("engineers", {})},  # type: ignore[dict-item]
                         customers=[
                             {"key": "jis", "name": "JIS Corp", "plan": "enhanced", "locale": "ja",
                              "charset": "iso-2022-jp", "domains": ["jis.test"], "contacts": [DAN]},
                             {"key": "acme", "name": "Acme Ltd", "plan": "enhanced", "locale": "en",
                              "domains": ["acme.test"], "contacts": [CAROL]}], **overrides)
    path = tmp_path / "gateway.toml"
    path.write_text(settings_toml(data), encoding="utf-8")
    return load_settings(path)


@pytest.fixture
def desk(tmp_path: Path, db_url: str, relay_sink: RelaySink, clock: FixedClock) -> Iterator[Desk]:
    settings = config(tmp_path, db_url, relay_sink)
    running = RunningDaemon(settings, clock=clock).start()
    desk = Desk(running, relay_sink, settings)
    yield desk
    desk.close()
    running.stop()


def mail(sender: str, to: str, subject: str, body: str, files: list[tuple[str, str, bytes]], *,
         charset: str = "utf-8", reply_of: Received | None = None, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(T0)
    message["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2])
    if reply_of is not None:
        message["In-Reply-To"] = message["References"] = str(reply_of.message["Message-ID"])
    message.set_content(body, charset=charset)
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)


def files_of(received: Received) -> dict[str, bytes]:
    return {str(p.get_filename()): p.get_payload(decode=True) for p in received.message.iter_attachments()}


@pytest.mark.parametrize("customer, charset, text", [
    (DAN, "iso-2022-jp", "夜間バックアップが失敗します。ログを添付します。"),
    (CAROL, "utf-8", "The nightly backup fails; the log is attached."),
], ids=["japanese-iso-2022-jp", "english"])
def test_files_travel_both_ways_byte_for_byte_and_the_engineers_see_one_thread(
        desk: Desk, customer: str, charset: str, text: str) -> None:
    desk.send(customer, mail(customer, SUPPORT, "バックアップ失敗" if charset != "utf-8" else "Backup fails", text,
                             [("agent.log", "text/plain", LOG)], charset=charset))
    opened = desk.next_mails(2)
    notice = desk.mail_to(opened, QUEUE)
    assert files_of(notice) == {"agent.log": LOG}  # the customer's file, on the engineers' notice

    reply_to = str(notice.message["Reply-To"])
    desk.send(ENGINEER, mail(ENGINEER, reply_to, f"Re: {notice.message['Subject']}", "手順書を添付いたします。",
                             [(PDF_NAME, "application/pdf", PDF)], reply_of=notice), to=reply_to)
    answered = desk.next_mails(2)
    relay, copy = desk.mail_to(answered, customer), desk.mail_to(answered, QUEUE)
    assert files_of(relay) == {PDF_NAME: PDF}  # the engineer's PDF, on the customer's letter
    [part] = relay.message.iter_attachments()
    raw_part = part.as_string()
    assert "filename*0*=utf-8''%E3%83%90%E3%83%83" in raw_part  # RFC 2231, UTF-8
    assert f'name="=?{charset}?b?' in raw_part  # the legacy form, in the customer's header charset
    assert relay.message.get_body(("plain",)).get_content_charset() == charset
    assert "手順書を添付いたします。" in relay.message.get_body(("plain",)).get_content()

    desk.send(customer, mail(customer, SUPPORT, f"Re: {relay.message['Subject']}", "Thank you, it works.", [],
                             reply_of=relay))
    [reply_notice] = desk.next_mails(1)
    thread = [notice, copy, reply_notice]
    root = str(notice.message["Message-ID"])
    assert len({str(m.message["Subject"]) for m in thread}) == 1
    assert str(notice.message["Subject"]).startswith("[INC-000001] ")
    assert all(str(m.message["In-Reply-To"]) == root and root in str(m.message["References"]) for m in thread[1:])


def test_files_over_the_notice_limit_are_fetched_with_the_attachments_get_command(
        tmp_path: Path, db_url: str, relay_sink: RelaySink, clock: FixedClock,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    settings = config(tmp_path, db_url, relay_sink, engineers={"notice_attachments_max_bytes": 1024})
    running = RunningDaemon(settings, clock=clock).start()
    desk = Desk(running, relay_sink, settings)
    try:
        desk.send(CAROL, mail(CAROL, SUPPORT, "Backup fails", "Log attached.", [("agent.log", "text/plain", LOG)]))
        notice = desk.mail_to(desk.next_mails(2), QUEUE)
    finally:
        desk.close()
        running.stop()
    body = notice.message.get_content()
    assert files_of(notice) == {} and "support-gateway attachments get INC-000001 agent.log" in body
    path = str(tmp_path / "gateway.toml")
    out = tmp_path / "agent.log"
    assert main(["--config", path, "attachments", "get", "INC-000001", "agent.log", "--output", str(out)]) == 0
    assert out.read_bytes() == LOG
    capsysbinary.readouterr()
    assert main(["--config", path, "attachments", "get", "INC-000001", "agent.log"]) == 0
    assert capsysbinary.readouterr().out == LOG
    assert main(["--config", path, "attachments", "get", "INC-000001", "other.log"]) == 2
    assert b"has no attachment 'other.log' (its files: agent.log)" in capsysbinary.readouterr().err
    assert main(["--config", path, "attachments", "get", "INC-000042", "agent.log"]) == 2
    assert b"no incident INC-000042" in capsysbinary.readouterr().err


def test_the_same_message_id_by_smtp_and_by_imap_opens_one_incident(
        tmp_path: Path, db_url: str, relay_sink: RelaySink, clock: FixedClock, dovecot: Dovecot,  # noqa: F811
        mail_user: MailUser, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv(PASSWORD_ENV, mail_user.password)
    settings = config(tmp_path, db_url, relay_sink, imap=[dovecot.account(mail_user)])
    running = RunningDaemon(settings, clock=clock).start()
    desk = Desk(running, relay_sink, settings)
    try:
        raw = mail(CAROL, SUPPORT, "Backup fails", "The backup fails.", [], message_id="<twice-1@acme.test>")
        desk.send(CAROL, raw)
        desk.next_mails(2)  # the acknowledgement and the notice
        dovecot.append(mail_user, [b"Received: from mx2.acme.test by mx.vendor.example.test; "
                                   b"Tue, 24 Nov 2026 10:00:05 +0900\r\n" + raw])
        desk.wait(lambda: len(desk.inbound()) == 2 and desk.all_processed())
        first, second = desk.inbound()
        assert (first.source, second.source) == (codes.SOURCE_SMTP, codes.SOURCE_IMAP)
        assert (second.state, second.reason) == (codes.IGNORED, codes.DUPLICATE_MESSAGE_ID)
        assert second.incident_id is None and first.incident_id is not None
        assert len(desk.sink.messages) == 2  # no second acknowledgement, no second notice
    finally:
        desk.close()
        running.stop()
