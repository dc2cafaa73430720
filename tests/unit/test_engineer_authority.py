"""Engineer authority in the pure core: tokens, the checks of an engineer's reply, header anomalies (issue 10)."""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.core.anomalies import header_anomalies
from gateway.core.authority import from_problems
from gateway.core.correlate import address_ref, engineer_address_ref, extract_clues
from gateway.core.decide import Policy, decide
from gateway.core.model import CONTACT, ENGINEER, Action, Context, CustomerRef, IncidentState, Sender
from gateway.core.tokens import (
    engineer_reference,
    engineer_token,
    engineer_token_is_valid,
    incident_token,
    reference,
    without_engineer_tokens,
)
from parsers import parse_mail
from tests.unit.factories import SUPPORT_ADDRESS, make_envelope, make_mail

SECRET = b"0123456789abcdef0123456789abcdef"
ENGINEER_ADDRESS = "eng@vendor.example"
QUEUE = "queue@vendor.example"
POLICY = Policy(own_addresses=frozenset({SUPPORT_ADDRESS}), loop_marker="gw", token_secret=SECRET,
                engineer_queue=QUEUE)
CUSTOMER = CustomerRef(7, "demo", "Demo KK", "enhanced", "ja", "utf-8")
OPEN = {number: IncidentState(id=number, number=number, customer_id=7, customer_key="demo", plan="enhanced",
                              subject="Backup", status="open", side="vendor", severity=3)
        for number in (123, 124)}


def engineer_decision(**mail_fields):  # type: ignore[no-untyped-def]
    mail = make_mail(from_addr=ENGINEER_ADDRESS, **mail_fields)
    clues = extract_clues(mail, make_envelope(ENGINEER_ADDRESS, *mail.to), POLICY.own_addresses)
    return decide(mail, make_envelope(ENGINEER_ADDRESS), Context(Sender(ENGINEER), clues, {}, OPEN), POLICY)


def at(detail: str) -> tuple[str, ...]:
    return (f"support+{detail}@vendor.example",)


# -- tokens ----------------------------------------------------------------------------------------


def test_the_engineer_token_is_another_purpose_than_the_customer_token_and_bound_to_incident_and_mailbox() -> None:
    token = engineer_token(SECRET, 123, QUEUE)
    assert len(token) == 16 and not token.startswith(incident_token(SECRET, 123))
    assert token != engineer_token(SECRET, 124, QUEUE) != engineer_token(SECRET, 123, ENGINEER_ADDRESS)
    assert engineer_token(SECRET, 123, QUEUE.upper()) == token  # addresses compare without case
    assert engineer_token_is_valid(SECRET, 123, token.upper(), (ENGINEER_ADDRESS, QUEUE))
    assert not engineer_token_is_valid(SECRET, 123, token, (ENGINEER_ADDRESS,))
    assert engineer_reference(SECRET, 123, QUEUE) == f"INC-000123.e.{token}"


def test_the_two_address_forms_are_told_apart_and_both_still_thread() -> None:
    own = frozenset({SUPPORT_ADDRESS})
    customer, engineer = reference(SECRET, 123), engineer_reference(SECRET, 123, QUEUE)
    assert address_ref(at(customer)[0], own) == (123, incident_token(SECRET, 123))
    assert engineer_address_ref(at(customer)[0], own) is None
    assert address_ref(at(engineer)[0], own) is None
    assert engineer_address_ref(at(engineer)[0], own) == (123, engineer_token(SECRET, 123, QUEUE))
    mail = make_mail(to=at(engineer), body_text=f"quoted footer {engineer}\n")
    clues = extract_clues(mail, make_envelope(), own)
    assert [layer for _, _, layer in clues.engineer_refs] == ["address-token", "body-token"]
    assert clues.address_refs == () and clues.body_refs == ()


def test_an_engineer_reference_in_customer_text_is_cut_to_the_bare_number() -> None:
    text = f"see {engineer_reference(SECRET, 123, QUEUE)} and support+{engineer_reference(SECRET, 5, QUEUE)}@x"
    assert without_engineer_tokens(text) == "see INC-000123 and support+INC-000005@x"


# -- what an engineer's reply must show ------------------------------------------------------------


def test_an_engineer_reply_with_its_own_or_the_queues_engineer_token_acts() -> None:
    for audience in (ENGINEER_ADDRESS, QUEUE):
        decision = engineer_decision(to=at(engineer_reference(SECRET, 123, audience)), body_text="Please retry.\n")
        assert (decision.action, decision.incident.number) == (Action.ENGINEER_REPLY, 123)  # type: ignore[union-attr]


@pytest.mark.parametrize("to, body, why", [
    (at(reference(SECRET, 123)), "#resolve fixed\n", "customer token, not an engineer token"),
    ((SUPPORT_ADDRESS,), f"#resolve fixed\n{reference(SECRET, 123)}\n", "customer token, not an engineer token"),
    (at(engineer_reference(SECRET, 123, "other@vendor.example")), "#resolve fixed\n",
     "engineer token not valid for INC-000123 from this sender"),
    (at(f"INC-000124.e.{engineer_token(SECRET, 123, QUEUE)}"), "#resolve fixed\n",
     "engineer token not valid for INC-000124"),
    (at(engineer_reference(SECRET, 999, QUEUE)), "#resolve fixed\n", "INC-000999, which does not exist"),
    (at("INC-000123.aaaaaaaaaa"), "#resolve fixed\n", "invalid reply token"),
    ((SUPPORT_ADDRESS,), "#resolve fixed\n", "no engineer token"),
], ids=["customer-address", "customer-footer", "other-recipient", "other-incident", "no-incident", "bad-token",
        "none"])
def test_an_engineer_reply_without_a_fitting_engineer_token_is_held_with_the_reason(
        to: tuple[str, ...], body: str, why: str) -> None:
    decision = engineer_decision(to=to, body_text=body)
    assert (decision.action, decision.reason, decision.after) == (Action.HOLD, codes.ENGINEER_UNVERIFIED, None)
    assert why in decision.detail and decision.queue_line and not decision.held_reply


def test_a_plain_engineer_mail_without_commands_or_token_is_held_without_telling_the_queue() -> None:
    decision = engineer_decision(body_text="Hello, a question about the rota.\n")
    assert (decision.action, decision.detail, decision.queue_line) == (Action.HOLD, "no engineer token", False)


@pytest.mark.parametrize("fields, why", [
    ({"from_mailboxes": (ENGINEER_ADDRESS, "evil@attacker.example")}, "2 From mailboxes"),
    ({"from_headers": 2}, "2 From headers"),
    ({"from_group": True}, "From in group syntax"),
    ({"defects": ("address:from:unclosed-delimiter", "address:from:recovered")},
     "From header malformed (unclosed-delimiter, recovered)"),
])
def test_a_valid_engineer_token_does_not_help_a_from_with_more_than_one_author(
        fields: dict[str, object], why: str) -> None:
    token = engineer_reference(SECRET, 123, QUEUE)
    decision = engineer_decision(to=at(token), body_text="#resolve fixed\n", **fields)
    assert (decision.action, decision.reason) == (Action.HOLD, codes.ENGINEER_UNVERIFIED)
    assert decision.detail == why and decision.incident.number == 123  # type: ignore[union-attr]


def test_replay_trusts_an_engineers_from_but_not_a_from_with_two_mailboxes() -> None:
    trusting = Policy(**{**POLICY.__dict__, "trust_engineer_from": True})
    for mailboxes, action in (((ENGINEER_ADDRESS,), Action.ENGINEER_REPLY),
                              ((ENGINEER_ADDRESS, "x@y.example"), Action.HOLD)):
        mail = make_mail(from_addr=ENGINEER_ADDRESS, from_mailboxes=mailboxes, subject="Re: [INC-000123] Backup",
                         body_text="Please retry.\n")
        clues = extract_clues(mail, make_envelope(ENGINEER_ADDRESS), POLICY.own_addresses)
        assert decide(mail, make_envelope(), Context(Sender(ENGINEER), clues, {}, OPEN), trusting).action is action


def test_a_contact_writing_to_the_customer_token_address_is_a_customer_reply_and_commands_are_text() -> None:
    mail = make_mail(to=at(reference(SECRET, 123)), body_text="#resolve fixed\nthanks\n")
    clues = extract_clues(mail, make_envelope(), POLICY.own_addresses)
    decision = decide(mail, make_envelope(), Context(Sender(CONTACT, CUSTOMER), clues, {}, OPEN), POLICY)
    assert (decision.action, decision.after.status) == (Action.CUSTOMER_REPLY, "open")  # type: ignore[union-attr]


# -- what the parser tells about the From field ----------------------------------------------------


@pytest.mark.parametrize("header, mailboxes, count, group", [
    (b"From: a@x.example\r\n", ("a@x.example",), 1, False),
    (b"From: a@x.example, b@y.example\r\n", ("a@x.example", "b@y.example"), 1, False),
    (b"From: a@x.example\r\nFrom: b@y.example\r\n", ("a@x.example", "b@y.example"), 2, False),
    (b"From: Team: a@x.example;\r\n", ("a@x.example",), 1, True),
    (b'From: "Team: A" <a@x.example> (a:b)\r\n', ("a@x.example",), 1, False),
    (b"From: <@relay.example:a@x.example>\r\n", ("a@x.example",), 1, False),
], ids=["one", "two-mailboxes", "two-fields", "group", "colons-quoted-and-commented", "obsolete-route"])
def test_the_parser_counts_from_fields_and_mailboxes_and_sees_group_syntax(
        header: bytes, mailboxes: tuple[str, ...], count: int, group: bool) -> None:
    mail = parse_mail(header + b"Subject: x\r\n\r\nbody\r\n")
    assert (mail.from_mailboxes, mail.from_headers, mail.from_group) == (mailboxes, count, group)
    assert mail.from_addr == mailboxes[0]  # from_addr keeps its meaning: the first mailbox


def test_header_anomalies_are_flagged_and_sender_counts_for_contacts_only() -> None:
    mail = parse_mail(b"From: a@x.example\r\nFrom: b@y.example\r\nSender: s@z.example\r\nSubject: x\r\n\r\nb\r\n")
    assert header_anomalies(mail, contact=True) == (
        codes.SEVERAL_FROM_HEADERS, codes.SEVERAL_FROM_MAILBOXES, codes.SENDER_NOT_FROM)
    assert codes.SENDER_NOT_FROM not in header_anomalies(mail, contact=False)
    same = parse_mail(b"From: A <a@x.example>\r\nSender: A@X.example\r\nSubject: x\r\n\r\nb\r\n")
    assert header_anomalies(same, contact=True) == () and from_problems(same) == ()
