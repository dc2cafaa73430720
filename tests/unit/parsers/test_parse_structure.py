"""The right body is chosen, attachments are complete, headers are usable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from parser_mails import BASE, CORPUS, alternative, raw_mail, with_attachment

from parsers import Attachment, ParsedMail, parse_mail

HANDWRITTEN = CORPUS / "handwritten"


def load(name: str) -> ParsedMail:
    return parse_mail((HANDWRITTEN / name).read_bytes())


def test_html_only_mail_gives_readable_text_without_tags_or_markup() -> None:
    mail = load("html_only.eml")

    assert mail.body_source == "html"
    assert mail.body_text == (
        "お世話になっております。\n"
        "\n"
        "Error code: E-42 & details at the status page.\n"
        "Host | srv01\n"
        "Since | 09:00\n"
        "- first\n"
        "- second"
    )
    for noise in ("<", ">", "never shown", "ignored title", "MsoNormal", "](", "**", "\\"):
        assert noise not in mail.body_text


def test_plain_alternative_wins_over_html() -> None:
    mail = parse_mail(alternative("plain words", "<p>html <b>words</b></p>"))

    assert (mail.body_text, mail.body_source) == ("plain words", "plain")
    assert mail.attachments == ()


def test_empty_plain_alternative_falls_back_to_the_html() -> None:
    mail = parse_mail(alternative("  \n", "<p>only the html has text</p>"))

    assert (mail.body_text, mail.body_source) == ("only the html has text", "html")


def test_mail_without_any_text_part_has_no_body() -> None:
    raw = raw_mail(
        BASE + [("Subject", "pdf"), ("Content-Type", "application/pdf"), ("Content-Transfer-Encoding", "base64")],
        b"JVBERi0xLjQK\n",
    )

    mail = parse_mail(raw)

    assert (mail.body_text, mail.body_source) == ("", "none")
    assert [(a.content_type, a.payload) for a in mail.attachments] == [("application/pdf", b"%PDF-1.4\n")]


def test_nested_multiparts_choose_the_plain_body_and_keep_every_attachment() -> None:
    mail = load("nested_multipart.eml")

    assert (mail.body_text, mail.body_source) == ("The plain body wins.", "plain")
    assert mail.content_type == "multipart/mixed"
    kinds = [(a.content_type, a.filename, a.content_id, a.inline) for a in mail.attachments]
    assert kinds == [
        ("image/png", None, "logo@x", True),
        ("application/pdf", "report.pdf", None, False),
        ("message/rfc822", None, None, False),
    ]
    assert mail.attachments[1].payload == b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n"


def test_forwarded_message_is_one_message_rfc822_attachment_not_body_text() -> None:
    mail = load("nested_multipart.eml")

    forwarded = mail.attachments[-1]
    assert "Forwarded text" not in mail.body_text
    assert forwarded.payload.startswith(b"From: forwarded@example.org\r\n")
    assert b"\r\n\r\nForwarded text must not become the body." in forwarded.payload
    assert forwarded.sha256 == hashlib.sha256(forwarded.payload).hexdigest()


def test_related_mail_shows_the_root_named_by_its_start_parameter() -> None:
    raw = raw_mail(
        BASE + [("Subject", "related"), ("Content-Type", 'multipart/related; boundary="r"; start="<root@x>"')],
        b"--r\nContent-Type: image/gif\nContent-ID: <img@x>\n\nGIF\n"
        b"--r\nContent-Type: text/html\nContent-ID: <root@x>\n\n<p>root html</p>\n--r--\n",
    )

    mail = parse_mail(raw)

    assert (mail.body_text, mail.body_source) == ("root html", "html")
    assert [a.content_id for a in mail.attachments] == ["img@x"]


def test_dsn_report_exposes_content_type_report_type_and_its_parts() -> None:
    mail = load("dsn_report.eml")

    assert mail.content_type == "multipart/report"
    assert mail.report_type == "delivery-status"
    assert mail.body_text.startswith("This is the mail system at host mx.vendor.example.")
    assert [a.content_type for a in mail.attachments] == ["message/delivery-status", "message/rfc822"]
    assert b"Status: 5.1.1" in mail.attachments[0].payload
    assert b"Message-ID: <reply-1234@vendor.example>" in mail.attachments[1].payload
    assert mail.header("auto-submitted") == "auto-replied"


def test_report_type_is_none_outside_multipart_report() -> None:
    assert load("nested_multipart.eml").report_type is None


def test_rfc2231_and_rfc2047_filenames_are_decoded() -> None:
    mail = load("rfc2231_filenames.eml")

    assert [a.filename for a in mail.attachments] == [
        "見積.pdf",  # filename*=UTF-8''%E8%A6%8B%E7%A9%8D.pdf
        "請求書_2024年.xls",  # filename*0*= / *1*= / *2 continuations
        "資料.txt",  # filename="=?ISO-2022-JP?B?...?="
        "①写真.jpg",  # filename*=Shift_JIS'ja'... with a CP932 character
    ]
    assert [a.payload for a in mail.attachments] == [b"%PDF-1.4\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"hello", b"\xff\xd8\xff\xe0\x00\x10"]
    photo = mail.attachments[3]
    assert (photo.inline, photo.content_id, photo.content_type) == (True, "photo1@example.co.jp", "image/jpeg")


def test_attachment_payload_is_the_decoded_bytes_with_their_sha256() -> None:
    payload = bytes(range(256)) * 40

    mail = parse_mail(with_attachment(payload, "バイナリ.bin", "application/octet-stream"))

    (attachment,) = mail.attachments
    assert attachment == Attachment(
        filename="バイナリ.bin",
        content_type="application/octet-stream",
        payload=payload,
        sha256=hashlib.sha256(payload).hexdigest(),
    )
    assert attachment.size == len(payload)
    assert mail.body_text == "see attached"


def test_text_parts_with_a_filename_are_attachments_not_body() -> None:
    raw = raw_mail(
        BASE + [("Subject", "log"), ("Content-Type", 'multipart/mixed; boundary="m"')],
        b"--m\nContent-Type: text/plain\n\nthe body\n"
        b"--m\nContent-Type: text/plain; name=\"app.log\"\nContent-Disposition: inline; filename=\"app.log\"\n\nERROR x\n"
        b"--m\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\n--m--\n",
    )

    mail = parse_mail(raw)

    assert mail.body_text == "the body"
    assert [(a.filename, a.content_type, a.payload) for a in mail.attachments] == [
        ("app.log", "text/plain", b"ERROR x"),
        (None, "text/calendar", b"BEGIN:VCALENDAR"),
    ]


def test_inline_plain_parts_of_a_mixed_mail_are_joined_in_order() -> None:
    raw = raw_mail(
        BASE + [("Subject", "footer"), ("Content-Type", 'multipart/mixed; boundary="m"')],
        b"--m\nContent-Type: text/plain\n\nfirst part\n"
        b"--m\nContent-Type: image/png\nContent-Disposition: inline\n\nPNG\n"
        b"--m\nContent-Type: text/plain\n\n-- \nlist footer\n--m--\n",
    )

    mail = parse_mail(raw)

    assert mail.body_text == "first part\n-- \nlist footer"


def test_addresses_are_bare_lower_case_and_names_decoded() -> None:
    mail = load("nested_multipart.eml")

    assert (mail.from_addr, mail.from_name) == ("nested@example.com", "Nested Sender")
    assert mail.to == ("support@vendor.example", "ops@vendor.example")
    assert mail.cc == ("yamada@example.co.jp",)
    assert mail.reply_to == ()


def test_reply_to_and_repeated_address_headers_are_collected() -> None:
    headers = [
        ("From", "Someone <Someone@Example.COM>"),
        ("Reply-To", "Team <Team@Example.com>, other@example.com"),
        ("To", "a@example.com"),
        ("To", "b@example.com, A@example.com"),
        ("Cc", "Group: c@example.com, d@example.com;"),
    ]

    mail = parse_mail(raw_mail(headers, b"x\n"))

    assert mail.reply_to == ("team@example.com", "other@example.com")
    assert mail.to == ("a@example.com", "b@example.com")
    assert mail.cc == ("c@example.com", "d@example.com")


def test_message_ids_are_bare_and_ordered_even_with_junk_between_them() -> None:
    mail = load("malformed_headers.eml")

    assert mail.in_reply_to == ("orig-1@example.com",)
    assert mail.references == ("ref-1@example.com", "ref-2@example.com", "ref-3@example.com")
    assert load("dsn_report.eml").message_id == "20240514013000.DSN1@mx.vendor.example"


def test_message_id_without_angle_brackets_is_still_found() -> None:
    mail = parse_mail(raw_mail([("From", "a@example.com"), ("Message-ID", "bare-id@example.com")], b"x\n"))

    assert mail.message_id == "bare-id@example.com"


def test_headers_hold_every_decoded_value_under_lower_case_names() -> None:
    headers = [
        ("From", "a@example.com"),
        ("Received", "from a by b; Tue, 14 May 2024 10:00:00 +0900"),
        ("Received", "from c\n by d; Tue, 14 May 2024 09:59:00 +0900"),
        ("X-Loop", "=?UTF-8?B?44Or44O844OX?="),
        ("List-Id", "<support.vendor.example>"),
    ]

    mail = parse_mail(raw_mail(headers, b"x\n"))

    assert mail.headers["received"] == (
        "from a by b; Tue, 14 May 2024 10:00:00 +0900",
        "from c by d; Tue, 14 May 2024 09:59:00 +0900",
    )
    assert mail.header("X-Loop") == "ループ"
    assert mail.header("list-id") == "<support.vendor.example>"
    assert mail.header("precedence") is None


def test_decoded_header_cannot_smuggle_line_breaks() -> None:
    mail = parse_mail(raw_mail([("From", "a@example.com"), ("Subject", "=?UTF-8?Q?a=0D=0ABcc:_x@evil?=")], b"x\n"))

    assert mail.subject == "a  Bcc: x@evil"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 14 May 2024 10:23:45 +0900", datetime(2024, 5, 14, 10, 23, 45, tzinfo=timezone(timedelta(hours=9)))),
        ("14 May 2024 10:23:45 +0545 (NPT)", datetime(2024, 5, 14, 10, 23, 45, tzinfo=timezone(timedelta(hours=5, minutes=45)))),
        ("Tue, 14 May 2024 10:23:45 JST", datetime(2024, 5, 14, 10, 23, 45, tzinfo=timezone(timedelta(hours=9)))),
        ("Tue, 14 May 24 01:23 GMT", datetime(2024, 5, 14, 1, 23, tzinfo=timezone.utc)),
        ("Tue, 14 May 2024 10:23:45", datetime(2024, 5, 14, 10, 23, 45, tzinfo=timezone.utc)),
    ],
)
def test_date_is_timezone_aware_and_keeps_the_senders_offset(value: str, expected: datetime) -> None:
    mail = parse_mail(raw_mail([("From", "a@example.com"), ("Date", value)], b"x\n"))

    assert mail.date == expected
    assert mail.date.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("value", ["yesterday", "Tue, 31 Feb 2024 10:00:00 +0900", "Tue, 14 May 2024 25:61:00 +0900", ""])
def test_unparseable_date_is_none_with_a_defect(value: str) -> None:
    mail = parse_mail(raw_mail([("From", "a@example.com"), ("Date", value)], b"x\n"))

    assert mail.date is None
    assert any(d.startswith("date:") for d in mail.defects)
