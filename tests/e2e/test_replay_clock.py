"""Issue 14, part A: what the clock does to people shows in `replay --json` and `incidents show --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.ops.cli import main
from tests.e2e.test_replay import SETTINGS

# Friday 17:00 JST on the tam plan (enhanced-plus, severity 3: 24 business hours → Wed 2 Dec 15:30).
OPENED = ("erin@big.test", "Fri, 27 Nov 2026 17:00:00 +0900", "<c1@big.test>", None, "VPN down",
          "Our VPN gateway is down since this afternoon.\n")


def write_mails(folder: Path, *mails: tuple[str, str, str, str | None, str, str]) -> Path:
    folder.mkdir()
    for number, (sender, date, message_id, in_reply_to, subject, body) in enumerate(mails, 1):
        headers = [f"From: {sender}", "To: support@support.example.test", f"Subject: {subject}",
                   f"Date: {date}", f"Message-ID: {message_id}", "MIME-Version: 1.0",
                   "Content-Type: text/plain; charset=utf-8"]
        if in_reply_to:
            headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
        raw = "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")
        (folder / f"{number:03d}.eml").write_bytes(raw.encode())
    return folder


def replay_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, mail: Path, until: str,
                settings: str = SETTINGS) -> list[dict[str, object]]:
    config = tmp_path / "gateway.toml"
    config.write_text(settings.format(data=tmp_path / "never-used"), encoding="utf-8")
    assert main(["replay", str(mail), "--config", str(config), "--until", until, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_replay_shows_the_breach_notice_at_the_due_minute_and_the_late_answer_with_late_by(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    late = ("yamada@vendor.test", "Wed, 02 Dec 2026 16:00:00 +0900", "<e1@vendor.test>", "<c1@big.test>",
            "Re: VPN down", "Please restart the VPN service.\n")
    mail = write_mails(tmp_path / "mail", OPENED, late)
    lines = replay_json(capsys, tmp_path, mail, "2026-12-02T17:00:00+09:00")
    breach = [e for e in lines if e["event"] == "notice" and e["kind"] == "breach"]
    assert [(e["at"], e["to"]) for e in breach] == [("2026-12-02T15:30:00+09:00",
                                                    ["engineers@vendor.test", "tam@vendor.test"])]
    responses = [e for e in lines if e["event"] == "response"]
    assert [(e["at"], e["met_at"], e.get("late_by")) for e in responses] == [
        ("2026-12-02T15:30:00+09:00", None, None),
        ("2026-12-02T16:00:00+09:00", "2026-12-02T16:00:00+09:00", 1800),
    ]
