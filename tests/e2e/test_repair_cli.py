"""Repairing (issue 12): an operator sees a dead acknowledgement, sends it again, drops or retries held mail,
and `status` tells the whole story in one object — against the real daemon and its relay."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest

from gateway.ops.cli import main
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.dovecot import settings_toml
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink
from tests.support.waiting import wait_until

SUPPORT = "support@support.example.test"


def cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(config), *args])
    return code, capsys.readouterr().out


@pytest.fixture
def desk(tmp_path: Path, db_url: str, relay_sink: RelaySink):  # type: ignore[no-untyped-def]
    data = settings_dict(tmp_path, db_url, relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5})
    config = tmp_path / "gateway.toml"
    config.write_text(settings_toml(data), encoding="utf-8")
    from gateway.settings import settings_from_dict

    daemon = RunningDaemon(settings_from_dict(data)).start(timeout=60)
    yield daemon, config
    daemon.stop(timeout=60)


def test_a_dead_acknowledgement_is_listed_shown_and_sent_again_by_outbox_retry(
        desk, relay_sink: RelaySink, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    daemon, config = desk
    relay_sink.fail_next("550 5.1.1 mailbox unavailable")
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        client.sendmail("alice@example.test", [SUPPORT], customer_mail(subject="Printer on fire"))

    def dead() -> list[dict[str, object]]:
        code, out = cli(capsys, config, "outbox", "list", "--state", "dead", "--json")
        return [json.loads(line) for line in out.splitlines()]

    wait_until(lambda: bool(dead()), 30, "a dead outbox row")
    [row] = dead()
    assert "550 5.1.1" in str(row["last_error"]) and row["incident"] == "INC-000001"
    code, out = cli(capsys, config, "outbox", "show", str(row["id"]))
    assert code == 0 and "Subject:" in out and "alice@example.test" in out
    code, status = cli(capsys, config, "status", "--json")
    assert code == 1 and json.loads(status)["outbox"]["dead"] == 1
    assert any("dead outgoing mail" in item for item in json.loads(status)["needs_attention"])

    code, out = cli(capsys, config, "outbox", "retry", "--all-dead")
    assert code == 0 and f"outbox {row['id']}: queued to be sent now (it was dead; last error: 550" in out
    wait_until(lambda: any(m.rcpt_tos == ["alice@example.test"] for m in relay_sink.messages), 30,
               "the acknowledgement at the relay")
    code, out = cli(capsys, config, "outbox", "retry", str(row["id"]))
    assert code == 1 and "a sent mail is not sent twice" in out


def test_held_mail_is_retried_saying_why_it_was_held_and_a_dropped_one_is_kept_but_never_retried(
        desk, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    daemon, config = desk
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        for subject in ("Who am I", "Spam, really"):
            client.sendmail("stranger@elsewhere.test", [SUPPORT], customer_mail(sender="stranger@elsewhere.test",
                                                                                  subject=subject))

    def held() -> list[dict[str, object]]:
        return [json.loads(line) for line in
                cli(capsys, config, "inbound", "list", "--state", "quarantined", "--json")[1].splitlines()]

    wait_until(lambda: len(held()) == 2, 30, "two quarantined mails")
    spam, stranger = held()  # newest first
    code, status = cli(capsys, config, "status", "--json")
    assert json.loads(status)["intake"]["quarantined_by_reason"] == {"unknown-sender": 2}

    code, out = cli(capsys, config, "inbound", "drop", str(spam["id"]))
    assert code == 0 and "dropped (was quarantined unknown-sender)" in out
    code, out = cli(capsys, config, "inbound", "retry", str(spam["id"]))
    assert code == 1 and "not retried: an operator dropped it" in out
    code, out = cli(capsys, config, "inbound", "show", str(spam["id"]), "--json")
    assert json.loads(out)["state"] == "dropped"

    code, out = cli(capsys, config, "inbound", "retry", str(stranger["id"]))
    assert code == 0 and "queued for processing again (it was quarantined: unknown-sender" in out
    code, out = cli(capsys, config, "inbound", "retry", "999999")
    assert code == 1 and "no such inbound mail" in out


def test_status_json_is_one_object_even_without_imap(desk, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _daemon, config = desk
    code, out = cli(capsys, config, "status", "--json")
    [line] = out.splitlines()
    status = json.loads(line)
    assert code == 0 and status["needs_attention"] == []
    assert set(status) >= {"intake", "imap", "outbox", "incidents", "imap_mailboxes"}
    code, text = cli(capsys, config, "status")
    assert "no [[imap]] mailboxes configured" in text and "all well" in text
