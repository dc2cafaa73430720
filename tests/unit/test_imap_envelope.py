"""What IMAP intake takes as the envelope: only an explicit <> is the null sender."""

from __future__ import annotations

from gateway.intake.imap_mail import UNKNOWN_SENDER, describe


def test_return_path_of_angle_brackets_is_the_null_sender_of_a_bounce() -> None:
    envelope, _ = describe(b"Return-Path: <>\r\nFrom: MAILER-DAEMON@x.test\r\n\r\nbody", "support@v.test")
    assert envelope.mail_from == ""


def test_return_path_is_taken_as_mail_from_when_present() -> None:
    envelope, _ = describe(b"Return-Path: <bounce+1@list.test>\r\nFrom: a@x.test\r\n\r\nbody", "support@v.test")
    assert envelope.mail_from == "bounce+1@list.test" and envelope.rcpt_tos == ("support@v.test",)


def test_a_human_mail_with_no_usable_sender_is_not_mistaken_for_a_bounce() -> None:
    envelope, _ = describe(b"Return-Path: <local-user>\r\nFrom: Alice\r\n\r\nhelp", "support@v.test")
    assert envelope.mail_from == UNKNOWN_SENDER and envelope.mail_from != ""


def test_without_return_path_the_from_address_is_mail_from() -> None:
    envelope, message_id = describe(b"From: Alice <alice@x.test>\r\nMessage-ID: <m1@x.test>\r\n\r\nhi", "u")
    assert envelope.mail_from == "alice@x.test" and message_id == "<m1@x.test>"
