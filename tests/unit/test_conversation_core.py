"""The pure conversation core: commands, reply tokens, threading layers, side transitions, decide()."""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.core import commands as cmd
from gateway.core.commands import parse_reply, split_items
from gateway.core.conversation import customer_message, engineer_reply
from gateway.core.correlate import extract_clues
from gateway.core.decide import Policy, decide
from gateway.core.model import (
    CONTACT, ENGINEER, STRANGER, UNKNOWN_AT_CUSTOMER, Action, Context, CustomerRef, IncidentState, Sender,
)
from gateway.core.tokens import engineer_reference, incident_token, reference, reply_address, token_is_valid
from tests.unit.factories import SUPPORT_ADDRESS, make_envelope, make_mail

SECRET = b"0123456789abcdef0123456789abcdef"
CUSTOMER = CustomerRef(7, "demo", "Demo KK", "enhanced", "ja", "utf-8")
OTHER = CustomerRef(8, "acme", "Acme", "msa-enterprise", "en", "utf-8")
POLICY = Policy(own_addresses=frozenset({SUPPORT_ADDRESS}), loop_marker="gw", token_secret=SECRET,
                workaround_plans=frozenset({"msa-enterprise"}))
OPEN_123 = IncidentState(id=1, number=123, customer_id=7, customer_key="demo", plan="enhanced", subject="Backup",
                         status="open", side="vendor", severity=3, opened_by="tanaka@customer.example",
                         customer_thread=("q1@customer.example", "gw.ack@vendor.example"))


def context(sender: Sender, mail, incidents=None, by_message_id=None) -> Context:  # type: ignore[no-untyped-def]
    incidents = {123: OPEN_123} if incidents is None else incidents
    return Context(sender, extract_clues(mail, make_envelope(mail.from_addr, *mail.to), POLICY.own_addresses),
                   by_message_id or {}, incidents)


# -- commands ------------------------------------------------------------------------------------

def test_full_width_severity_command_is_read_like_ascii() -> None:
    reply = parse_reply("＃ｓｅｖｅｒｉｔｙ　２　業務停止\n本文です。")
    assert [(c.name, c.argument, c.reason) for c in reply.commands] == [("severity", "2", "業務停止")]
    assert reply.text == "本文です。" and reply.errors == ()


@pytest.mark.parametrize("line, name", [
    ("#SEVERITY 2 reason", cmd.SEVERITY), ("#深刻度 1 全停止", cmd.SEVERITY), ("#調査中", cmd.INVESTIGATING),
    ("#Waiting", cmd.WAITING), ("#メモ", cmd.NOTE), ("#担当 suzuki", cmd.ASSIGN), ("#回避策", cmd.WORKAROUND),
    ("#解決 修正済み", cmd.RESOLVE), ("#分割", cmd.SPLIT), ("#エスカレーション", cmd.ESCALATE),
])
def test_commands_have_english_and_japanese_names_in_any_case(line: str, name: str) -> None:
    [command] = parse_reply(line).commands
    assert command.name == name


@pytest.mark.parametrize("text, message", [
    ("#severty 2 x", "unknown command #severty"),
    ("#severity 5 too high", "level from 1 to 4"),
    ("#reopen\n#resolve fixed", "cannot be used together"),
    ("#resolve maybe", "answered, fixed, workaround, awaiting-release"),
    ("#assign", "needs the name"),
    ("#investigating\n#waiting", "cannot be used together"),
    ("#note\n#note", "more than once"),
])
def test_malformed_commands_become_errors_for_the_engineer(text: str, message: str) -> None:
    reply = parse_reply(text)
    assert any(message in error.message for error in reply.errors)


def test_commands_are_read_only_at_the_top_of_the_reply() -> None:
    reply = parse_reply("\nPlease restart.\n#resolve fixed\n")
    assert reply.commands == () and "#resolve fixed" in reply.text


def test_resolution_reasons_have_japanese_aliases() -> None:
    assert parse_reply("#resolve リリース待ち").commands[0].argument == "awaiting-release"


def test_split_items_read_bullets_numbers_and_stated_severities() -> None:
    assert split_items("- [2] Backup fails\n・ログの出力方法\n2) (sev 1) All down\nnot an item") == (
        (2, "Backup fails"), (None, "ログの出力方法"), (1, "All down"))


# -- tokens --------------------------------------------------------------------------------------

def test_reply_token_is_stable_per_incident_and_secret_and_checked_case_insensitively() -> None:
    token = incident_token(SECRET, 123)
    assert token == incident_token(SECRET, 123) != incident_token(SECRET, 124)
    assert token != incident_token(b"another secret of enough length", 123)
    assert token_is_valid(SECRET, 123, token.upper()) and not token_is_valid(SECRET, 124, token)
    assert reply_address("support@vendor.example", SECRET, 123) == f"support+INC-000123.{token}@vendor.example"
    assert reference(SECRET, 123) == f"INC-000123.{token}"


# -- threading -----------------------------------------------------------------------------------

def test_each_threading_layer_places_a_contacts_mail_on_its_own() -> None:
    ref = reference(SECRET, 123)
    sender = Sender(CONTACT, CUSTOMER)
    cases = {
        "message-id": (make_mail(in_reply_to=("gw.ack@vendor.example",)), {"gw.ack@vendor.example": 123}),
        "address-token": (make_mail(to=(f"support+{ref}@vendor.example",)), {}),
        "body-token": (make_mail(body_text=f"more info\n{ref}\n"), {}),
        "subject-tag": (make_mail(subject="Re: [INC-000123] Backup"), {}),
    }
    for layer, (mail, known) in cases.items():
        decision = decide(mail, make_envelope(), context(sender, mail, by_message_id=known), POLICY)
        assert (decision.action, decision.threaded_by) == (Action.CUSTOMER_REPLY, layer), layer


def test_subject_tag_of_another_customers_incident_opens_a_new_incident_instead() -> None:
    mail = make_mail(subject="[INC-000123] hello")
    decision = decide(mail, make_envelope(), context(Sender(CONTACT, OTHER), mail), POLICY)
    assert decision.action is Action.OPEN_INCIDENT and decision.customer == OTHER


def test_a_wrong_body_token_is_not_a_thread() -> None:
    mail = make_mail(body_text="INC-000123.aaaaaaaaaa\n")
    decision = decide(mail, make_envelope(), context(Sender(CONTACT, CUSTOMER), mail), POLICY)
    assert decision.action is Action.OPEN_INCIDENT


# -- sides ---------------------------------------------------------------------------------------

def test_a_human_customer_message_moves_the_incident_to_the_vendor_side_with_an_event() -> None:
    on_customer_side = IncidentState(**{**OPEN_123.__dict__, "side": "customer"})
    after, events = customer_message(on_customer_side, "tanaka@customer.example", "m2@x", "message-id")
    assert after.side == "vendor" and after.last_customer_message_id == "m2@x"
    assert [e.type for e in events] == ["message", "side"] and events[1].data["from"] == "customer"


def test_an_auto_reply_in_the_thread_is_ignored_before_threading_so_the_side_never_moves() -> None:
    mail = make_mail(in_reply_to=("gw.ack@vendor.example",), headers={"Auto-Submitted": "auto-replied"})
    decision = decide(mail, make_envelope(), context(Sender(CONTACT, CUSTOMER), mail,
                                                      by_message_id={"gw.ack@vendor.example": 123}), POLICY)
    assert (decision.action, decision.reason, decision.after) == (Action.IGNORE, codes.AUTO_SUBMITTED, None)


def test_engineer_answer_moves_to_the_customer_side_unless_investigating() -> None:
    relayed, events, outcome = engineer_reply(OPEN_123, parse_reply("Please send the log."), "e@v", "address-token",
                                              workaround_downgrades=False)
    assert relayed.side == "customer" and outcome.relay_text == "Please send the log."
    kept, _, outcome = engineer_reply(OPEN_123, parse_reply("#investigating\nLooking."), "e@v", "address-token",
                                      workaround_downgrades=False)
    assert kept.side == "vendor" and outcome.relay_text == "Looking."


def test_workaround_downgrades_level_1_only_where_the_plan_says_so() -> None:
    level_1 = IncidentState(**{**OPEN_123.__dict__, "severity": 1})
    after, _, outcome = engineer_reply(level_1, parse_reply("#workaround"), "e@v", "t", workaround_downgrades=True)
    assert after.severity == 2 and outcome.severity_change == (1, 2, "@workaround")
    after, _, _ = engineer_reply(level_1, parse_reply("#workaround"), "e@v", "t", workaround_downgrades=False)
    assert after.severity == 1


# -- roles ---------------------------------------------------------------------------------------

def test_engineer_mail_without_a_valid_token_is_held_and_changes_nothing() -> None:
    mail = make_mail(from_addr="eng@vendor.example", subject="[INC-000123] #resolve", body_text="#resolve fixed\n",
                     in_reply_to=("gw.ack@vendor.example",))
    decision = decide(mail, make_envelope("eng@vendor.example"),
                      context(Sender(ENGINEER), mail, by_message_id={"gw.ack@vendor.example": 123}), POLICY)
    assert (decision.action, decision.reason, decision.after) == (Action.HOLD, codes.ENGINEER_UNVERIFIED, None)


def test_engineer_with_token_and_a_bad_command_gets_only_an_explanation() -> None:
    token = engineer_reference(SECRET, 123, "eng@vendor.example")
    mail = make_mail(from_addr="eng@vendor.example", to=(f"support+{token}@vendor.example",),
                     body_text="#resolve maybe\nDone.\n")
    decision = decide(mail, make_envelope("eng@vendor.example"), context(Sender(ENGINEER), mail), POLICY)
    assert decision.action is Action.COMMAND_ERROR and decision.after is None and decision.events == ()


def test_unknown_address_of_a_customer_domain_is_held_with_a_polite_reply() -> None:
    mail = make_mail(from_addr="new@customer.example")
    decision = decide(mail, make_envelope("new@customer.example"), context(Sender(UNKNOWN_AT_CUSTOMER, CUSTOMER), mail),
                      POLICY)
    assert (decision.action, decision.reason, decision.held_reply) == (Action.HOLD, codes.UNKNOWN_CONTACT, True)


def test_a_stranger_is_held_without_a_reply() -> None:
    mail = make_mail(from_addr="x@elsewhere.example")
    decision = decide(mail, make_envelope("x@elsewhere.example"), context(Sender(STRANGER), mail), POLICY)
    assert (decision.action, decision.held_reply) == (Action.HOLD, False)


def test_a_reply_to_a_resolved_incident_opens_a_new_linked_incident() -> None:
    resolved = IncidentState(**{**OPEN_123.__dict__, "status": "resolved"})
    mail = make_mail(subject="Re: [INC-000123] Backup")
    decision = decide(mail, make_envelope(), context(Sender(CONTACT, CUSTOMER), mail, {123: resolved}), POLICY)
    assert (decision.action, decision.reason, decision.linked_to) == (
        Action.OPEN_INCIDENT, codes.RECURRENCE_OPENED, resolved)
