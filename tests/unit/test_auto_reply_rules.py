"""Auto-replies without header markers, challenge-response robots, and what decide() takes anyway (issue 13)."""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.core.decide import Policy, decide
from gateway.core.model import CONTACT, STRANGER, Action, Context, CustomerRef, Sender
from gateway.core.rules import classify_automatic
from parsers.model import BounceReport, FailedRecipient, ParsedMail
from tests.unit.factories import SUPPORT_ADDRESS, make_envelope, make_mail

OWN = frozenset({SUPPORT_ADDRESS})
NOTICE = "gw.1@vendor.example"
CUSTOMER = CustomerRef(1, "demo", "Demo", "enhanced", "ja", "utf-8")


def classify(mail: ParsedMail) -> str | None:
    return classify_automatic(mail, make_envelope(), own_addresses=OWN, loop_marker="m")


@pytest.mark.parametrize("subject", [
    "Out of Office: Re: [INC-000003] Server stops", "Auto reply: Server stops", "AUTO: Server stops",
    "不在通知: Re: サーバー停止", "自動応答: サーバー停止", "自動返信：サーバー停止", "【自動返信】サーバー停止",
    "Abwesenheitsnotiz: Server stoppt", "Automatische Antwort: Server", "Réponse automatique : Le serveur",
    "Absence du bureau : Re: Le serveur",
])
def test_an_auto_reply_subject_on_a_mail_that_answers_ours_is_automatic(subject: str) -> None:
    assert classify(make_mail(subject=subject, in_reply_to=(NOTICE,))) == codes.AUTO_REPLY_SUBJECT


def test_an_auto_reply_prefix_before_a_reply_or_incident_tag_is_automatic_without_threading_headers() -> None:
    assert classify(make_mail(subject="Out of Office: Re: Server stops")) == codes.AUTO_REPLY_SUBJECT
    assert classify(make_mail(subject="Auto reply: [INC-000003] Server stops")) == codes.AUTO_REPLY_SUBJECT


def test_lotus_notes_saying_someone_is_out_of_the_office_is_automatic() -> None:
    assert classify(make_mail(subject="AUTO: Taro Yamada is out of the office (returning 20.05)")) == \
        codes.AUTO_REPLY_SUBJECT


@pytest.mark.parametrize("subject", ["Automatic reply: is it configurable?", "Out of office replies are not sent",
                                     "Auto reply rules ignored by the filter", "不在時の転送設定について"])
def test_a_person_writing_a_new_mail_about_auto_replies_is_human(subject: str) -> None:
    assert classify(make_mail(subject=subject)) is None


def test_a_challenge_response_robot_is_known_by_its_wording() -> None:
    mail = make_mail(subject="RE: Server stops", body_text=(
        "I am protecting myself from receiving junk mail. Please click the link below to verify that you "
        "are a real person.\n"))
    assert classify(mail) == codes.CHALLENGE_RESPONSE


def test_a_person_mentioning_challenge_response_once_is_human() -> None:
    mail = make_mail(subject="Login problem", body_text="Our challenge-response login fails since the update.\n")
    assert classify(mail) is None


def test_a_tmda_confirmation_address_is_a_challenge() -> None:
    assert classify(make_mail(from_addr="bob-confirm-1715650000.1234.abcdef@example.net")) == \
        codes.CHALLENGE_RESPONSE


def test_a_forwarded_bounce_is_human_mail_about_a_bounce() -> None:
    bounce = BounceReport("flufl", (FailedRecipient("bob@example.com"),))
    assert classify(make_mail(subject="Fwd: Returned mail: see transcript", bounce=bounce)) is None
    assert classify(make_mail(subject="Returned mail: see transcript", bounce=bounce)) == codes.BOUNCE


def contact() -> Context:
    return Context(Sender(CONTACT, CUSTOMER))


def test_list_mail_from_an_authorized_contact_opens_an_incident_marked_quiet() -> None:
    mail = make_mail(headers={"List-Id": "<ops.customer.example>", "Precedence": "list"})
    decision = decide(mail, make_envelope(), contact(), Policy(OWN, "m"))
    assert (decision.action, decision.quiet) == (Action.OPEN_INCIDENT, codes.PRECEDENCE_BULK)


def test_list_mail_from_a_stranger_stays_ignored() -> None:
    mail = make_mail(headers={"List-Id": "<ops.customer.example>"})
    decision = decide(mail, make_envelope(), Context(Sender(STRANGER)), Policy(OWN, "m"))
    assert (decision.action, decision.reason) == (Action.IGNORE, codes.MAILING_LIST)


def test_auto_submitted_mail_is_taken_only_from_an_accepted_sender() -> None:
    mail = make_mail(from_addr="servicenow@customer.example", headers={"Auto-Submitted": "auto-generated"})
    ignored = decide(mail, make_envelope(), contact(), Policy(OWN, "m"))
    taken = decide(mail, make_envelope(), contact(), Policy(OWN, "m", accept_automatic_from=frozenset(
        {"@customer.example"})))
    assert ignored.action is Action.IGNORE
    assert (taken.action, taken.quiet) == (Action.OPEN_INCIDENT, codes.AUTO_SUBMITTED)


def test_an_accepted_sender_cannot_turn_an_auto_reply_to_us_into_an_incident() -> None:
    mail = make_mail(subject="Out of Office: Re: [INC-000003] x", in_reply_to=(NOTICE,))
    decision = decide(mail, make_envelope(), contact(), Policy(OWN, "m", accept_automatic_from=frozenset(
        {mail.from_addr})))
    assert decision.action is Action.IGNORE


def test_a_bad_accept_automatic_from_entry_is_refused_naming_the_key() -> None:
    from gateway.settings import SettingsError, settings_from_dict

    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"gateway": {"support_addresses": ["support@vendor.example"]},
                            "mail": {"accept_automatic_from": ["not an address"]}})
    assert "mail.accept_automatic_from" in str(caught.value)


def test_accept_automatic_from_takes_addresses_and_domains() -> None:
    from gateway.settings import settings_from_dict

    settings = settings_from_dict({"gateway": {"support_addresses": ["support@vendor.example"]},
                                   "mail": {"accept_automatic_from": ["ServiceNow@Customer.example", "jira.example"]}})
    assert settings.mail.accept_automatic_from == ["servicenow@customer.example", "@jira.example"]
