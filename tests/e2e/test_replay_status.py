"""Issue 14: an engineer's #status, the prompt ahead of each report, the shaped report and the periodic
review all show in `replay --json`, at the minute they happen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_replay_clock import MSA_SETTINGS, replay_json, write_mails

OPENED = ("erin@big.test", "Tue, 24 Nov 2026 10:00:00 +0900", "<c1@big.test>", None, "VPN down",
          "Our VPN gateway is down.\n")
RAISED = ("yamada@vendor.test", "Tue, 24 Nov 2026 10:05:00 +0900", "<e1@vendor.test>", "<c1@big.test>",
          "Re: VPN down", "#severity 1 total outage\n#investigating\n")
STATUS = ("yamada@vendor.test", "Tue, 24 Nov 2026 11:40:00 +0900", "<e2@vendor.test>", "<c1@big.test>",
          "Re: VPN down", "#status The patched firmware is in test.\nResults by 14:00.\n")


def test_replay_shows_the_prompt_the_status_text_and_the_report_that_carries_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mail = write_mails(tmp_path / "mail", OPENED, RAISED, STATUS)
    lines = replay_json(capsys, tmp_path, mail, "2026-11-24T12:30:00+09:00")
    [prompt] = [e for e in lines if e["event"] == "notice" and e["kind"] == "status-prompt"]
    assert (prompt["at"], prompt["to"], prompt["report_due"]) == (
        "2026-11-24T11:35:00+09:00", ["engineers@vendor.test"], "2026-11-24T12:05:00+09:00")
    [text] = [e for e in lines if e["event"] == "status-text"]
    assert text == {"at": "2026-11-24T11:40:00+09:00", "incident": "INC-000001", "event": "status-text",
                    "by": "yamada@vendor.test", "text": "The patched firmware is in test.\nResults by 14:00."}
    [report] = [e for e in lines if e["event"] == "notice" and e["kind"] == "status"]
    assert (report["at"], report["shaped_by"]) == ("2026-11-24T12:05:00+09:00", "yamada@vendor.test")
    assert lines.index(prompt) < lines.index(text) < lines.index(report)


def test_replay_over_a_quarters_end_shows_the_periodic_review_at_the_first_working_opening(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opened = ("carol@acme.test", "Mon, 21 Dec 2026 10:00:00 +0900", "<a1@acme.test>", None, "LAN slow",
              "The LAN is slow.\n")
    mail = write_mails(tmp_path / "mail", opened)
    lines = replay_json(capsys, tmp_path, mail, "2027-01-06T18:00:00+09:00", MSA_SETTINGS)
    reviews = [e for e in lines if e["event"] == "notice" and e["kind"] == "quarterly"]
    assert len(reviews) == 1  # once per period, for the one customer on a plan with periodic_report
    [review] = reviews
    assert (review["customer"], review["period"]) == ("acme", "2026Q4")
    # Monday 4 Jan 10:00: the desk's first opening after the 29 Dec - 3 Jan closure, not New Year's Day
    assert review["at"] == "2027-01-04T10:00:00+09:00"
    assert review["to"] == ["carol@acme.test", "tam@vendor.test"]  # the contacts, the TAM in copy
