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


MSA_SETTINGS = SETTINGS + """
[[customers]]
key = "acme"
name = "Acme Ltd"
plan = "msa-enterprise"
locale = "en"
domains = ["acme.test"]
contacts = ["carol@acme.test"]
tam = "tam@vendor.test"

[escalation]
on-duty-manager = ["duty@vendor.test"]
"""


def test_replay_shows_a_severity_review_request_and_an_off_hours_reroute(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opened = ("carol@acme.test", "Sat, 28 Nov 2026 02:00:00 +0900", "<a1@acme.test>", None, "LAN down",
              "The whole LAN is down.\n")
    raised = ("yamada@vendor.test", "Sat, 28 Nov 2026 02:05:00 +0900", "<e1@vendor.test>", "<a1@acme.test>",
              "Re: LAN down", "#severity 2 part of the LAN is down\n#investigating\n")
    worse = ("carol@acme.test", "Sat, 28 Nov 2026 02:10:00 +0900", "<a2@acme.test>", "<a1@acme.test>",
             "Re: LAN down", "It is getting worse.\nSeverity: 1\n")
    mail = write_mails(tmp_path / "mail", opened, raised, worse)
    lines = replay_json(capsys, tmp_path, mail, "2026-11-28T07:00:00+09:00", MSA_SETTINGS)
    [review] = [e for e in lines if e["event"] == "severity-review-requested"]
    assert (review["at"], review["asked"]) == ("2026-11-28T02:10:00+09:00", 1)
    notices = [(e["at"], e["kind"], e.get("on_duty")) for e in lines if e["event"] == "notice"]
    assert ("2026-11-28T02:10:00+09:00", "severity-review", None) in notices
    assert ("2026-11-28T02:10:00+09:00", "severity-review-ack", None) in notices
    [escalation] = [e for e in lines if e["event"] == "notice" and e["kind"] == "escalation"]
    assert (escalation["at"], escalation["off_hours"], escalation["instead_of"]) == \
        ("2026-11-28T06:00:00+09:00", True, "tam")  # sev 2: the tam rung after 4 h, on a Saturday
    assert escalation["to"] == ["duty@vendor.test", "tam@vendor.test"]
