"""Issue 11 part B in the pure core: every word an engineer writes goes somewhere, forgiving commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.core import commands as cmd
from gateway.core.commands import parse_reply
from gateway.core.conversation import engineer_reply
from gateway.core.decide import decide
from gateway.core.model import ENGINEER, Action, Sender
from gateway.core.salutation import greets
from gateway.core.sla import ESCALATION, STATUS, ClockEvent, evaluate
from gateway.core.tokens import engineer_reference
from gateway.plans import load_plans
from gateway.render import Renderer
from parsers.quotes import strip_quotes
from tests.unit.factories import make_envelope, make_mail
from tests.unit.test_conversation_core import OPEN_123, POLICY, SECRET, context

RESOLVED_123 = replace(OPEN_123, status="resolved")
JST = ZoneInfo("Asia/Tokyo")


def answer(text: str, state=OPEN_123):  # type: ignore[no-untyped-def]
    return engineer_reply(state, parse_reply(text), "eng@vendor.example", "address-token", workaround_downgrades=False)


def engineer_decides(body: str, state=OPEN_123):  # type: ignore[no-untyped-def]
    token = engineer_reference(SECRET, 123, "eng@vendor.example")
    mail = make_mail(from_addr="eng@vendor.example", to=(f"support+{token}@vendor.example",), body_text=body)
    return decide(mail, make_envelope("eng@vendor.example"), context(Sender(ENGINEER), mail, {123: state}), POLICY)


def test_waiting_with_a_question_relays_the_question_and_hands_the_incident_to_the_customer() -> None:
    after, events, outcome = answer("#waiting\nCould you send us the agent log?")
    assert outcome.relay_text == "Could you send us the agent log?"
    assert after.side == "customer" and any(e.type == "side" for e in events)


def test_waiting_alone_still_hands_the_incident_over_without_a_letter() -> None:
    after, _, outcome = answer("#waiting")
    assert outcome.relay_text is None and after.side == "customer"


def test_split_with_words_beyond_the_list_relays_them_and_a_bare_list_does_not() -> None:
    assert cmd.has_text_beyond_items("We will handle these separately:\n- backup\n- export")
    assert not cmd.has_text_beyond_items("- backup\n- export")


def test_a_note_is_kept_for_the_queue_and_never_relayed() -> None:
    after, events, outcome = answer("#note\nCustomer runs an unsupported OS.")
    assert outcome.relay_text is None and outcome.note_text == "Customer runs an unsupported OS."
    assert after.side == "vendor"
    assert [e.data["text"] for e in events if e.type == "note"] == ["Customer runs an unsupported OS."]


def test_severity_without_a_reason_is_accepted_and_flagged_for_the_confirmation() -> None:
    reply = parse_reply("#severity 1")
    assert reply.errors == () and reply.commands[0].argument == "1"
    after, _, outcome = answer("#severity 1")
    assert after.severity == 1 and outcome.severity_change == (3, 1, "") and outcome.severity_without_reason


def test_a_bare_severity_1_with_assign_and_investigating_below_applies_all_three() -> None:
    decision = engineer_decides("#severity 1\n#assign yamada\n#investigating\n")
    assert decision.action is Action.ENGINEER_REPLY
    assert (decision.after.severity, decision.after.assignee, decision.after.side) == (1, "yamada", "vendor")


def test_a_bad_command_lists_the_valid_ones_as_not_applied_and_keeps_the_text() -> None:
    decision = engineer_decides("#assign yamada\n#severty 2\nPlease restart the service.\n")
    assert decision.action is Action.COMMAND_ERROR and decision.command_used
    assert decision.not_applied == ("#assign yamada",) and decision.text == "Please restart the service."


def test_plain_text_to_a_resolved_incident_is_no_command_error_and_names_reopen() -> None:
    decision = engineer_decides("Thanks, one more thing.\n", RESOLVED_123)
    assert decision.action is Action.COMMAND_ERROR and not decision.command_used
    assert "#reopen" in decision.errors[0]


def test_reopen_brings_a_resolved_incident_back_to_the_vendor_side() -> None:
    on_customer_side = replace(RESOLVED_123, side="customer")
    decision = engineer_decides("#reopen still failing after the patch\n", on_customer_side)
    assert decision.action is Action.ENGINEER_REPLY
    assert (decision.after.status, decision.after.side) == ("open", "vendor")
    assert decision.engineer.reopened and decision.engineer.reopen_reason == "still failing after the patch"
    assert [e.data for e in decision.events if e.type == "status"][0]["reopened"] is True


def test_reopen_of_an_open_incident_is_an_error() -> None:
    decision = engineer_decides("#reopen\n")
    assert decision.action is Action.COMMAND_ERROR and "only a resolved incident" in decision.errors[0]


def test_the_sla_clock_resumes_after_a_reopen_where_it_stopped() -> None:
    """msa-enterprise severity 1: answered after 10 min, resolved, reopened the next morning.

    The TAM rung comes 30 min of vendor-side time after opening: 10 min were spent before the
    answer, so it falls 20 min after the reopen; the time resolved counts on neither side.
    """
    opened = datetime(2026, 11, 27, 17, 0, tzinfo=JST)
    events = [ClockEvent(opened, "opened", {"severity": 1, "side": "vendor"}),
              ClockEvent(opened + timedelta(minutes=10), "notice", {"kind": "relay"}),
              ClockEvent(opened + timedelta(minutes=10), "side", {"side": "customer"}),
              ClockEvent(opened + timedelta(minutes=20), "status", {"status": "resolved"})]
    plan = load_plans().get("msa-enterprise")
    reopened_at = datetime(2026, 11, 28, 10, 0, tzinfo=JST)
    resolved = evaluate(events, plan, reopened_at - timedelta(minutes=1))
    assert resolved.status == "resolved" and resolved.due == () and resolved.upcoming == ()
    events += [ClockEvent(reopened_at, "status", {"status": "open", "reopened": True}),
               ClockEvent(reopened_at, "side", {"side": "vendor"})]
    view = evaluate(events, plan, reopened_at + timedelta(minutes=5))
    assert (view.status, view.side) == ("open", "vendor")
    assert view.response_met_at == opened + timedelta(minutes=10)
    assert view.vendor_time == timedelta(minutes=15) and view.customer_time == timedelta(minutes=10)
    rung = next(d for d in view.upcoming if d.kind == ESCALATION)
    assert rung.at == reopened_at + timedelta(minutes=20)
    # MSA severity 1 status reports go only by agreement with the customer (issue 14): none here.
    assert [d for d in view.upcoming if d.kind == STATUS] == []


def test_a_text_that_greets_its_reader_is_recognised_in_japanese_and_english() -> None:
    assert greets("株式会社デモ\n髙橋様\n\nお世話になっております。")
    assert greets("髙橋様、\nお世話になっております。") and greets("Dear Dave,\nthanks.")
    assert not greets("ログを送付してください。") and not greets("Please send the log.")


def test_full_width_quote_lines_are_stripped_like_ascii_ones() -> None:
    text = "ログを確認しました。\n\n2026年11月24日(火) 10:00 田中 <t@x>:\n＞ バックアップが失敗します\n＞ よろしくお願いします"
    assert strip_quotes(text) == "ログを確認しました。"


# -- the letters' wording, in both locales -----------------------------------------------------------

RENDERER = Renderer(Path(__file__).resolve().parents[2] / "templates")
ABOUT = {"gateway_name": "Support", "ref": "INC-000123", "reference": "INC-000123.e.abc",
         "incident": {"ref": "INC-000123", "subject": "Backup", "severity": 1, "status": "open"}}
SIDES = [{"side": "customer", "command": "#investigating"}, {"side": "vendor", "command": "#waiting"},
         {"side": "resolved", "command": "#reopen"}, {"side": "closed", "command": ""}]


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("side", SIDES, ids=lambda s: s["side"])
def test_every_engineer_letter_names_the_side_and_the_command_that_changes_it(locale: str, side: dict) -> None:  # type: ignore[type-arg]
    letters = [
        RENDERER.render("confirm", locale, **ABOUT, **side, applied=["#severity 1"], relayed_to="", note=False,
                        note_copied=False, ask_reason=True, reopened=False),
        RENDERER.render("note", locale, **ABOUT, **side, author="yamada@v", text="internal"),
        RENDERER.render("command-error", locale, **ABOUT, **side, errors=["#severty: unknown"],
                        not_applied=["#assign suzuki"], command_used=True, text="Please restart."),
    ]
    for letter in letters:
        if side["command"]:
            assert side["command"] in letter.body
        assert "INC-000123" in letter.body
    assert "Not applied: #assign suzuki" in letters[2].body and "Please restart." in letters[2].body


@pytest.mark.parametrize("locale, title", [("ja", "コマンドエラー"), ("en", "Command not accepted")])
def test_a_command_error_is_titled_as_one_only_when_a_command_was_used(locale: str, title: str) -> None:
    def subject(used: bool) -> str:
        return RENDERER.render("command-error", locale, **ABOUT, **SIDES[2], errors=["resolved"], not_applied=[],
                               command_used=used, text="").subject
    assert title in subject(True) and title not in subject(False)


@pytest.mark.parametrize("locale, named, fallback", [
    ("ja", "Demo KK\nDave Tanaka 様\n", "Demo KK\nご担当者様\n"), ("en", "Dear Dave Tanaka,\n", "Hello,\n")])
def test_customer_letters_greet_the_registered_contact_or_fall_back_politely(
        locale: str, named: str, fallback: str) -> None:
    common = {**ABOUT, "customer": {"name": "Demo KK"}, "reason": "", "text": "We are on it."}
    assert RENDERER.render("reopened", locale, **common, contact_name="Dave Tanaka").body.startswith(named)
    assert RENDERER.render("reopened", locale, **common, contact_name="").body.startswith(fallback)
    relay = RENDERER.render("relay", locale, **common, contact_name="", salutation=False)
    assert relay.body.startswith("We are on it.")
