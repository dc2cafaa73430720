"""Automatic mail is recognised and never opens an incident (RFC 3834, RFC 5321, RFC 6522, RFC 2369)."""

from __future__ import annotations

import pytest

from gateway import codes
from gateway.core.model import Envelope
from gateway.core.rules import CHECKS, classify_automatic, is_own_mail
from parsers.model import ParsedMail
from tests.unit.factories import SUPPORT_ADDRESS, make_envelope, make_mail

OWN = frozenset({SUPPORT_ADDRESS, "support-bounces@vendor.example"})
MARKER = "support-gateway/7f3c2a"


def classify(mail: ParsedMail, envelope: Envelope | None = None) -> str | None:
    return classify_automatic(
        mail, envelope or make_envelope(), own_addresses=OWN, loop_marker=MARKER
    )


def test_plain_customer_mail_is_human() -> None:
    assert classify(make_mail()) is None


def test_human_mail_with_everyday_headers_is_human() -> None:
    mail = make_mail(
        headers={
            "Precedence": "first-class",
            "X-Mailer": "Microsoft Outlook 16.0",
            "Importance": "high",
            "X-Priority": "1",
            "Return-Path": "<tanaka@customer.example>",
        }
    )
    assert classify(mail) is None


# --- 1. our own mail back ------------------------------------------------------------


@pytest.mark.parametrize(
    "x_loop",
    [SUPPORT_ADDRESS, "SUPPORT@Vendor.Example", f"<{SUPPORT_ADDRESS}>", f"Support Desk <{SUPPORT_ADDRESS}>"],
)
def test_x_loop_naming_our_address_is_our_own_mail_back(x_loop: str) -> None:
    assert classify(make_mail(headers={"X-Loop": x_loop})) == codes.OWN_LOOP


def test_x_loop_naming_a_lookalike_address_is_not_ours() -> None:
    mail = make_mail(headers={"X-Loop": "xsupport@vendor.example.net"})
    assert classify(mail) is None


def test_x_loop_of_someone_else_is_not_ours() -> None:
    assert classify(make_mail(headers={"X-Loop": "helpdesk@customer.example"})) is None


def test_our_loop_marker_is_our_own_mail_back() -> None:
    mail = make_mail(headers={"X-Support-Gateway-Loop": f" {MARKER} "})
    assert classify(mail) == codes.OWN_LOOP


def test_another_gateways_loop_marker_is_not_ours() -> None:
    mail = make_mail(headers={"X-Support-Gateway-Loop": "support-gateway/other"})
    assert classify(mail) is None


def test_mail_from_our_own_address_is_our_own_mail_back() -> None:
    assert classify(make_mail(from_addr=SUPPORT_ADDRESS)) == codes.OWN_LOOP


def test_mail_with_our_envelope_sender_is_our_own_mail_back() -> None:
    envelope = make_envelope("Support-Bounces@vendor.example")
    assert classify(make_mail(), envelope) == codes.OWN_LOOP


def test_empty_loop_marker_and_no_own_addresses_match_nothing() -> None:
    mail = make_mail(headers={"X-Support-Gateway-Loop": "", "X-Loop": ""})
    assert not is_own_mail(mail, make_envelope(), own_addresses=frozenset(), loop_marker="")


def test_own_loop_wins_over_every_other_reason() -> None:
    mail = make_mail(
        from_addr=SUPPORT_ADDRESS,
        headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"},
    )
    assert classify(mail, make_envelope("")) == codes.OWN_LOOP


# --- 2. delivery and disposition reports -----------------------------------------------


def test_dsn_bounce_is_ignored_as_delivery_report() -> None:
    mail = make_mail(
        from_addr="mailer-daemon@mx.customer.example",
        subject="Undelivered Mail Returned to Sender",
        content_type="multipart/report",
        report_type="delivery-status",
    )
    assert classify(mail, make_envelope("")) == codes.DELIVERY_REPORT


@pytest.mark.parametrize("report_type", ["disposition-notification", "feedback-report", None])
def test_any_multipart_report_is_ignored_as_delivery_report(report_type: str | None) -> None:
    mail = make_mail(content_type="multipart/report", report_type=report_type)
    assert classify(mail) == codes.DELIVERY_REPORT


def test_read_receipt_from_a_customer_is_ignored_as_delivery_report() -> None:
    mail = make_mail(
        subject="開封済み: ライセンスの更新について",
        content_type="multipart/report",
        report_type="disposition-notification",
    )
    assert classify(mail) == codes.DELIVERY_REPORT


def test_multipart_mixed_with_a_forwarded_bounce_attached_is_not_a_report() -> None:
    assert classify(make_mail(content_type="multipart/mixed")) is None


# --- 3. null sender -----------------------------------------------------------------------


@pytest.mark.parametrize("mail_from", ["", "<>"])
def test_null_envelope_sender_is_ignored(mail_from: str) -> None:
    assert classify(make_mail(), make_envelope(mail_from)) == codes.NULL_SENDER


def test_null_return_path_written_at_delivery_is_ignored_as_null_sender() -> None:
    assert classify(make_mail(headers={"Return-Path": "<>"})) == codes.NULL_SENDER


# --- 4. Auto-Submitted (RFC 3834 §5) ------------------------------------------------------


def test_out_of_office_with_auto_submitted_is_ignored() -> None:
    mail = make_mail(subject="自動応答: ライセンスの更新について", headers={"Auto-Submitted": "auto-replied"})
    assert classify(mail) == codes.AUTO_SUBMITTED


@pytest.mark.parametrize(
    "value",
    ["auto-generated", "auto-replied", "Auto-Replied", "auto-replied; owner-email=\"t@customer.example\"",
     "auto-notified", "some-future-keyword"],
)
def test_any_auto_submitted_other_than_no_is_ignored(value: str) -> None:
    assert classify(make_mail(headers={"Auto-Submitted": value})) == codes.AUTO_SUBMITTED


@pytest.mark.parametrize("value", ["no", "No", " NO ", "no; comment", ""])
def test_human_reply_with_auto_submitted_no_is_not_ignored(value: str) -> None:
    assert classify(make_mail(headers={"Auto-Submitted": value})) is None


def test_second_auto_submitted_header_is_read_too() -> None:
    mail = make_mail(headers={"Auto-Submitted": ("no", "auto-generated")})
    assert classify(mail) == codes.AUTO_SUBMITTED


# --- 5. vendor auto-reply headers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("X-AutoReply-From", "tanaka@customer.example"),
        ("X-Mail-Autoreply", "yes"),
        ("X-FC-MachineGenerated", "true"),
        ("Precedence", "auto_reply"),
    ],
)
def test_vendor_auto_reply_header_is_ignored(name: str, value: str) -> None:
    assert classify(make_mail(headers={name: value})) == codes.AUTO_REPLY_HEADER


@pytest.mark.parametrize(("name", "value"), [("X-Autoreply", "no"), ("X-FC-MachineGenerated", "false")])
def test_vendor_auto_reply_header_saying_no_is_not_ignored(name: str, value: str) -> None:
    assert classify(make_mail(headers={name: value})) is None


@pytest.mark.parametrize("value", ["All", "OOF", "DR, RN, NRN, OOF, AutoReply", "-1"])
def test_x_auto_response_suppress_alone_is_human_mail_from_outlook(value: str) -> None:
    # Exchange and Outlook set it on mail people write (distribution groups, meeting requests):
    # it asks *us* not to auto-reply; it does not say the mail is automatic.
    mail = make_mail(subject="ライセンスの更新について", headers={"X-Auto-Response-Suppress": value})
    assert classify(mail) is None


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: License renewal", "自動応答: ライセンスの更新について", "Out of Office: License", "不在: 件名"],
)
def test_outlook_out_of_office_without_auto_submitted_is_ignored(subject: str) -> None:
    mail = make_mail(subject=subject, headers={"X-Auto-Response-Suppress": "All"})
    assert classify(mail) == codes.AUTO_REPLY_HEADER


def test_automatic_reply_subject_alone_is_not_enough() -> None:
    assert classify(make_mail(subject="Automatic reply: is it configurable?")) is None


# --- 6. Precedence --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "Bulk", " LIST "])
def test_bulk_junk_or_list_precedence_is_ignored(value: str) -> None:
    assert classify(make_mail(headers={"Precedence": value})) == codes.PRECEDENCE_BULK


@pytest.mark.parametrize("value", ["first-class", "normal", "urgent", "special-delivery"])
def test_other_precedence_values_are_human(value: str) -> None:
    assert classify(make_mail(headers={"Precedence": value})) is None


# --- 7. mailing lists and bulk senders -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("List-Id", "Users <users.lists.example>"),
        ("List-Unsubscribe", "<mailto:unsubscribe@news.customer.example>"),
        ("List-Post", "<mailto:users@lists.example>"),
        ("List-Help", "<mailto:users-request@lists.example?subject=help>"),
        ("List-Subscribe", "<https://lists.example/subscribe>"),
        ("List-Owner", "<mailto:owner@lists.example>"),
        ("List-Archive", "<https://lists.example/archive>"),
    ],
)
def test_mailing_list_header_is_ignored(name: str, value: str) -> None:
    assert classify(make_mail(headers={name: value})) == codes.MAILING_LIST


def test_customer_marketing_mail_with_list_unsubscribe_is_ignored_as_bulk() -> None:
    mail = make_mail(headers={"List-Unsubscribe": "<https://mail.customer.example/u/123>"})
    assert classify(mail) == codes.MAILING_LIST


# --- 8. mailer daemons ------------------------------------------------------------------------


DAEMONS = [
    "MAILER-DAEMON@mx.customer.example",
    "mailer-daemon@mx.customer.example",
]
BOUNCE_SUBJECT = "Undeliverable: ライセンスの更新について"


@pytest.mark.parametrize("from_addr", DAEMONS)
def test_mailer_daemon_sender_is_ignored(from_addr: str) -> None:
    assert classify(make_mail(from_addr=from_addr)) == codes.MAILER_DAEMON


@pytest.mark.parametrize("mail_from", ["MAILER-DAEMON", *DAEMONS])
def test_mailer_daemon_envelope_sender_is_ignored(mail_from: str) -> None:
    assert classify(make_mail(), make_envelope(mail_from)) == codes.MAILER_DAEMON


@pytest.mark.parametrize("address", ["postmaster@customer.example", "Post_Master@mail.carrier.example"])
def test_postmaster_with_a_bounce_subject_is_ignored(address: str) -> None:
    assert classify(make_mail(from_addr=address, subject=BOUNCE_SUBJECT)) == codes.MAILER_DAEMON
    assert classify(make_mail(subject=BOUNCE_SUBJECT), make_envelope(address)) == codes.MAILER_DAEMON


def test_a_postmaster_person_writing_about_a_licence_is_human() -> None:
    # issue 13: the mail administrator of a small customer writes as postmaster@.
    mail = make_mail(from_addr="postmaster@customer.example", subject="ライセンスの更新について")
    assert classify(mail, make_envelope("postmaster@customer.example")) is None


def test_lookalike_local_parts_are_human() -> None:
    mail = make_mail(from_addr="postmaster-team@customer.example")
    assert classify(mail, make_envelope("mailer-daemon-admin@customer.example")) is None


# --- order --------------------------------------------------------------------------------------


def test_checks_run_most_specific_first() -> None:
    assert [code for code, _ in CHECKS] == [
        codes.DELIVERY_REPORT,
        codes.BOUNCE,
        codes.NULL_SENDER,
        codes.AUTO_SUBMITTED,
        codes.AUTO_REPLY_HEADER,
        codes.AUTO_REPLY_SUBJECT,
        codes.CHALLENGE_RESPONSE,
        codes.PRECEDENCE_BULK,
        codes.MAILING_LIST,
        codes.MAILER_DAEMON,
    ]


def test_bounce_with_null_sender_is_named_a_delivery_report() -> None:
    mail = make_mail(content_type="multipart/report", report_type="delivery-status")
    assert classify(mail, make_envelope("")) == codes.DELIVERY_REPORT


def test_out_of_office_from_null_sender_is_named_null_sender() -> None:
    mail = make_mail(headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"})
    assert classify(mail, make_envelope("")) == codes.NULL_SENDER


def test_list_mail_with_precedence_list_is_named_by_precedence() -> None:
    mail = make_mail(headers={"Precedence": "list", "List-Id": "<users.lists.example>"})
    assert classify(mail) == codes.PRECEDENCE_BULK
