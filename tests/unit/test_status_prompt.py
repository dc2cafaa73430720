"""Issue 14: the pure half of status reports an engineer can shape — the command, the prompt's minute
and which `#status` text a report carries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.core import commands as cmd
from gateway.core.commands import parse_reply
from gateway.core.conversation import status_text_of
from gateway.core.sla import ClockEvent, evaluate
from gateway.core.status_prompt import due_prompt, prompt_wake, report_text
from gateway.plans import load_plans

JST = ZoneInfo("Asia/Tokyo")
PLAN = load_plans().get("enhanced-plus")  # severity 1: a report every 2 h of wall time
OPENED = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
LEAD = timedelta(minutes=30)


def log(*extra: ClockEvent) -> list[ClockEvent]:
    return [ClockEvent(OPENED, "opened", {"severity": 1, "plan": "enhanced-plus"}), *extra]


@pytest.mark.parametrize("line", ["#status The fix is in test", "#STATUS The fix is in test",
                                  "＃ｓｔａｔｕｓ　The fix is in test", "#状況 The fix is in test",
                                  "＃状況　The fix is in test"])
def test_status_is_understood_in_english_japanese_and_full_width(line: str) -> None:
    reply = parse_reply(f"{line}\nResults by 15:00.\n")
    assert not reply.errors and reply.has(cmd.STATUS)
    assert status_text_of(reply) == "The fix is in test\nResults by 15:00."


@pytest.mark.parametrize("other", ["#note", "#waiting", "#resolve fixed", "#reopen", "#split"])
def test_status_cannot_be_combined_with_a_command_that_takes_the_same_text(other: str) -> None:
    reply = parse_reply(f"#status text\n{other}\n")
    assert any("cannot be used together" in e.message for e in reply.errors)


def test_the_prompt_is_due_thirty_minutes_before_the_report_and_not_a_minute_earlier() -> None:
    early = evaluate(log(), PLAN, datetime(2026, 11, 24, 11, 29, tzinfo=JST))
    assert due_prompt(early, log(), LEAD) is None
    assert prompt_wake(early, log(), LEAD) == datetime(2026, 11, 24, 11, 30, tzinfo=JST)
    view = evaluate(log(), PLAN, datetime(2026, 11, 24, 11, 30, tzinfo=JST))
    prompt = due_prompt(view, log(), LEAD)
    assert prompt is not None and prompt.report.at == datetime(2026, 11, 24, 12, 0, tzinfo=JST)
    assert prompt.short_key == "status-prompt:s1:1"


def test_a_prompt_sent_is_not_due_again_and_a_lead_of_zero_means_none() -> None:
    now = datetime(2026, 11, 24, 11, 45, tzinfo=JST)
    sent = log(ClockEvent(now, "notice", {"kind": "status-prompt", "key": "status-prompt:s1:1"}))
    view = evaluate(sent, PLAN, now)
    assert due_prompt(view, sent, LEAD) is None and prompt_wake(view, sent, LEAD) is None
    assert due_prompt(evaluate(log(), PLAN, now), log(), timedelta(0)) is None


def test_a_report_carries_the_latest_text_since_the_previous_report_and_each_text_once() -> None:
    at = OPENED + timedelta(minutes=30)
    first = ClockEvent(at, "status-text", {"by": "a@vendor.test", "text": "first"})
    second = ClockEvent(at, "status-text", {"by": "b@vendor.test", "text": "second"})
    assert report_text(log(first, second)) == ("second", "b@vendor.test")
    report = ClockEvent(OPENED + timedelta(hours=2), "notice", {"kind": "status", "key": "status:s1:1"})
    assert report_text(log(first, second, report)) == ("", "")
    assert report_text(log()) == ("", "")


def test_a_negative_prompt_lead_is_refused_naming_the_key() -> None:
    from gateway.settings import SettingsError, settings_from_dict

    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"gateway": {"support_addresses": ["support@vendor.example"]},
                            "engineers": {"status_prompt_minutes": -5}})
    assert "status_prompt_minutes" in str(caught.value)
