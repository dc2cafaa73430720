"""`support-gateway replay`: recorded mail on a simulated clock, the timeline as JSON lines (issue 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.ops.cli import main

SETTINGS = """
[gateway]
support_addresses = ["support@support.example.test"]
data_dir = "{data}"

[engineers]
addresses = ["yamada@vendor.test"]
queue_address = "engineers@vendor.test"

[[customers]]
key = "big"
name = "Big Corp"
plan = "tam"
locale = "en"
domains = ["big.test"]
contacts = ["erin@big.test"]
tam = "tam@vendor.test"
"""

MAILS = {
    # Friday 17:00 JST: a new incident (severity 3 by the mail rule).
    "001-customer.eml": ("erin@big.test", "Fri, 27 Nov 2026 17:00:00 +0900", "<c1@big.test>", None,
                         "VPN down", "Our VPN gateway is down since this afternoon.\n"),
    # Monday 09:10 JST: the engineer raises it to 1 and asks for logs (response met, customer side).
    "002-engineer.eml": ("yamada@vendor.test", "Mon, 30 Nov 2026 09:10:00 +0900", "<e1@vendor.test>",
                         "<c1@big.test>", "Re: VPN down",
                         "#severity 1 total outage\n\nPlease send the VPN gateway logs.\n"),
}


def _write(folder: Path) -> None:
    folder.mkdir()
    for name, (sender, date, message_id, in_reply_to, subject, body) in MAILS.items():
        headers = [f"From: {sender}", "To: support@support.example.test", f"Subject: {subject}",
                   f"Date: {date}", f"Message-ID: {message_id}", "MIME-Version: 1.0",
                   "Content-Type: text/plain; charset=utf-8"]
        if in_reply_to:
            headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
        (folder / name).write_bytes(("\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode())


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, Path]:
    mail = tmp_path / "mail"
    _write(mail)
    config = tmp_path / "gateway.toml"
    config.write_text(SETTINGS.format(data=tmp_path / "never-used"), encoding="utf-8")
    return mail, config


def _run(capsys: pytest.CaptureFixture[str], mail: Path, config: Path, until: str) -> str:
    assert main(["replay", str(mail), "--config", str(config), "--until", until, "--json"]) == 0
    return capsys.readouterr().out


def test_replay_prints_the_timeline_in_time_order_with_the_clock_decisions(
        recorded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    mail, config = recorded
    lines = [json.loads(line) for line in _run(capsys, mail, config, "2026-11-30T12:00:00+09:00").splitlines()]
    summary = [(e["at"], e["event"], e.get("kind") or e.get("side") or e.get("to")) for e in lines]
    assert summary == [
        ("2026-11-27T17:00:00+09:00", "opened", None),
        ("2026-11-27T17:00:00+09:00", "notice", "ack"),
        ("2026-11-27T17:00:00+09:00", "notice", "engineer"),
        ("2026-11-30T09:10:00+09:00", "severity", 1),
        ("2026-11-30T09:10:00+09:00", "side", "customer"),
        ("2026-11-30T09:10:00+09:00", "notice", "severity-changed"),
        ("2026-11-30T09:10:00+09:00", "notice", "relay"),
        ("2026-11-30T09:10:00+09:00", "response", None),
        ("2026-11-30T11:10:00+09:00", "severity", 2),  # customer away 2 business hours: downgraded
        ("2026-11-30T11:10:00+09:00", "notice", "downgrade"),
        ("2026-11-30T11:10:00+09:00", "notice", "clock-change"),  # the engineers see it too (issue 14)
    ]
    opened = lines[0]
    assert opened == {"at": "2026-11-27T17:00:00+09:00", "incident": "INC-000001", "event": "opened",
                      "severity": 3, "requested_severity": None, "plan": "tam", "customer": "big",
                      "response_due": "2026-12-02T15:30:00+09:00"}
    response = lines[7]
    assert (response["due"], response["met_at"], response["breached"]) == \
        ("2026-11-30T09:30:00+09:00", "2026-11-30T09:10:00+09:00", False)
    assert lines[9]["to"] == ["erin@big.test", "tam@vendor.test"]


def test_replay_output_is_byte_identical_across_two_runs(
        recorded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    mail, config = recorded
    first = _run(capsys, mail, config, "2026-12-31T00:00:00+09:00")
    second = _run(capsys, mail, config, "2026-12-31T00:00:00+09:00")
    assert first == second and "timeout" in first  # a month on the customer side closes it


def test_replay_refuses_an_until_without_an_offset(recorded: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    mail, config = recorded
    assert main(["replay", str(mail), "--config", str(config), "--until", "2026-11-30T12:00:00"]) == 2
    assert "offset" in capsys.readouterr().err


def test_an_mbox_replays_like_the_directory_of_eml_files(
        recorded: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import mailbox

    mail, config = recorded
    box = mailbox.mbox(str(tmp_path / "recorded.mbox"))
    for path in sorted(mail.iterdir()):
        box.add(path.read_bytes())
    box.close()
    until = "2026-11-30T12:00:00+09:00"
    assert _run(capsys, tmp_path / "recorded.mbox", config, until) == _run(capsys, mail, config, until)
