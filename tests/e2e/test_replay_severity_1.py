"""Issue 14 "done when": a severity-1 incident replayed on each built-in plan sends, in order, every letter
a support manager expects — ack, queue, severity change, breach notice, escalation rungs, the engineer's
prompt for a #status text 30 minutes ahead of each status report, status reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_replay_clock import replay_json, write_mails

SETTINGS = """
[gateway]
support_addresses = ["support@support.example.test"]
data_dir = "{data}"

[engineers]
addresses = ["yamada@vendor.test"]
queue_address = "engineers@vendor.test"

[escalation]
support-manager = ["manager@vendor.test"]
product-development = ["dev@vendor.test"]
on-duty-manager = ["duty@vendor.test"]

[[customers]]
key = "c"
name = "C Corp"
plan = "PLAN"
locale = "en"
domains = ["c.test"]
contacts = ["erin@c.test"]
tam = "tam@vendor.test"
"""

# Tuesday 24 Nov 2026: opened 10:00 JST, raised to 1 by the engineer at 10:05, no answer after that.
EXPECTED = {
    "enhanced": [  # 4 business hours to respond; support manager and development at 8 business hours
        ("11-24T10:00", "ack"), ("11-24T10:00", "engineer"), ("11-24T10:05", "severity-changed"),
        ("11-24T14:00", "breach"), ("11-25T09:30", "escalation"), ("11-25T09:30", "escalation"),
        ("11-25T09:35", "status-prompt"), ("11-25T10:05", "status")],
    "enhanced-plus": [  # 1 business hour; the support manager at 2; a report every 2 hours
        ("11-24T10:00", "ack"), ("11-24T10:00", "engineer"), ("11-24T10:05", "severity-changed"),
        ("11-24T11:00", "breach"), ("11-24T11:35", "status-prompt"), ("11-24T12:00", "escalation"),
        ("11-24T12:05", "status"), ("11-24T13:35", "status-prompt"), ("11-24T14:05", "status")],
    "tam": [
        ("11-24T10:00", "ack"), ("11-24T10:00", "engineer"), ("11-24T10:05", "severity-changed"),
        ("11-24T11:00", "breach"), ("11-24T11:35", "status-prompt"), ("11-24T12:00", "escalation"),
        ("11-24T12:05", "status"), ("11-24T13:35", "status-prompt"), ("11-24T14:05", "status")],
    "msa-enterprise": [  # 30 minutes wall time; the TAM at 30 minutes; reports only by agreement (none here)
        ("11-24T10:00", "ack"), ("11-24T10:00", "engineer"), ("11-24T10:05", "severity-changed"),
        ("11-24T10:30", "escalation"), ("11-24T10:30", "breach")],
}


@pytest.mark.parametrize("plan", sorted(EXPECTED))
def test_a_severity_1_replay_sends_every_expected_letter_in_order(
        plan: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mail = write_mails(
        tmp_path / "mail",
        ("erin@c.test", "Tue, 24 Nov 2026 10:00:00 +0900", "<c1@c.test>", None, "Total outage",
         "Everything is down.\n"),
        ("yamada@vendor.test", "Tue, 24 Nov 2026 10:05:00 +0900", "<e1@vendor.test>", "<c1@c.test>",
         "Re: Total outage", "#severity 1 total outage\n#investigating\n"))
    lines = replay_json(capsys, tmp_path, mail, "2026-11-25T18:00:00+09:00", SETTINGS.replace("PLAN", plan))
    letters = [(str(e["at"])[5:16], e["kind"]) for e in lines if e["event"] == "notice"]
    expected = EXPECTED[plan]
    assert letters[:len(expected)] == expected
    tam_on_every_letter = plan == "tam"
    to_tam = [e for e in lines if e["event"] == "notice" and "tam@vendor.test" in e["to"]]
    assert (len(to_tam) >= len(expected) - 1) == tam_on_every_letter  # all but the queue's notice
