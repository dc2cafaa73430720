"""Real-world header shapes of issue 13: charsets per encoded word, repaired header sections, From fallbacks, limits."""

from __future__ import annotations

import pytest
from parser_mails import raw_mail

from parsers import Limits, UnparseableMail, parse_mail

FROM = ("From", "a@example.com")


def subject_of(value: bytes | str, content_type: str | None = None) -> str:
    headers = [FROM, ("Subject", value)] + ([("Content-Type", content_type)] if content_type else [])
    return parse_mail(raw_mail(headers, b"body\n")).subject


def test_raw_latin1_inside_a_q_word_is_read_in_the_charset_the_word_declares() -> None:
    assert subject_of(b"=?iso-8859-1?Q?Fr\xf6sche?=") == "Frösche"


def test_raw_8bit_subject_is_read_in_the_charset_the_message_declares() -> None:
    assert subject_of("Réunion à Zürich".encode("latin-1"), "text/plain; charset=iso-8859-1") == "Réunion à Zürich"
    assert subject_of("服务器每晚停止".encode("gb2312"), "text/plain; charset=gb2312") == "服务器每晚停止"


def test_a_guess_never_answers_with_private_use_characters() -> None:
    subject = subject_of(b"Fr\xf6sche")
    assert not any("\ue000" <= c <= "\uf8ff" for c in subject)


def test_raw_shift_jis_without_any_declared_charset_is_still_guessed() -> None:
    assert subject_of("ウイルス検知".encode("cp932")) == "ウイルス検知"


def test_a_raw_utf7_subject_of_a_utf7_message_is_read_as_utf7() -> None:
    assert subject_of("Caf+AOk-", "text/plain; charset=utf-7") == "Café"
    assert subject_of("1+1=2") == "1+1=2"


def test_words_in_different_charsets_each_decode_in_their_own() -> None:
    assert subject_of("=?utf-8?Q?Caf=C3=A9?= =?iso-8859-1?Q?_Fr=F6sche?=") == "Café Frösche"


def test_a_byte_order_mark_before_the_first_header_is_dropped_as_a_defect() -> None:
    mail = parse_mail(b"\xef\xbb\xbf" + raw_mail([FROM, ("Subject", "hi")], b"body\n"))
    assert mail.subject == "hi" and "header:byte-order-mark" in mail.defects


def test_a_banner_line_before_the_headers_is_dropped_as_a_defect() -> None:
    mail = parse_mail(b"---- Original email message ----\n" + raw_mail([FROM, ("Subject", "hi")], b"body\n"))
    assert (mail.from_addr, mail.subject) == ("a@example.com", "hi")
    assert "header:banner-line-before-headers" in mail.defects


def test_an_unindented_continuation_line_continues_its_field_and_later_fields_survive() -> None:
    raw = b"From: a@example.com\nSubject: Server stops\nevery night\nMessage-ID: <m1@example.com>\n\nbody\n"
    mail = parse_mail(raw)
    assert (mail.subject, mail.message_id, mail.body_text) == ("Server stops every night", "m1@example.com", "body")
    assert "header:unindented-continuation" in mail.defects


def test_a_mail_that_forgot_the_blank_line_keeps_its_body() -> None:
    mail = parse_mail(b"From: a@example.com\nSubject: hi\nThis is the body.\n")
    assert "header:unindented-continuation" not in mail.defects


@pytest.mark.parametrize(("headers", "address", "source"), [
    ([("From", "x <x>"), ("Reply-To", "b@example.com")], "b@example.com", "reply-to"),
    ([("Sender", "c@example.com")], "c@example.com", "sender"),
    ([("From", "Test test@example.com")], "test@example.com", "from-recovered"),
    ([("From", "<Postmaster\\@mx.example.com@mx.example.com>")], "postmaster@mx.example.com", "from-recovered"),
    ([("From", "x <x>")], "", "none"),
])
def test_a_from_without_an_addr_spec_falls_back_and_names_where_the_address_came_from(
        headers: list[tuple[str, str]], address: str, source: str) -> None:
    mail = parse_mail(raw_mail(headers + [("Subject", "s")], b"body\n"))
    assert (mail.from_addr, mail.from_source) == (address, source)


@pytest.mark.parametrize(("raw", "limits", "code"), [
    (b"".join(b"X-H%d: v\n" % i for i in range(50)) + b"From: a@b.c\n\nx", Limits(max_header_fields=20),
     "too-many-header-fields"),
    (b"From: a@b.c\nX-Big: " + b"v" * 10_000 + b"\n\nx", Limits(max_header_bytes=4096), "header-too-large"),
    (b"From: a@b.c\nContent-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\nx\n" * 30 + b"--b--\n",
     Limits(max_parts=10), "too-many-parts"),
    (b"From: a@b.c\nContent-Type: multipart/mixed; boundary=b\n\n" +
     b"--b\nContent-Type: application/octet-stream\n\nx\n" * 5 + b"--b--\n", Limits(max_attachments=3),
     "too-many-attachments"),
])
def test_a_mail_over_a_limit_is_unparseable_with_the_limits_code(raw: bytes, limits: Limits, code: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse_mail(raw, limits)
    assert caught.value.code == code
    parse_mail(raw)  # without limits it parses


def test_mime_nested_deeper_than_the_limit_is_unparseable_as_too_deep() -> None:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(12))
    raw = b"From: a@example.com\n" + head + b"Content-Type: text/plain\n\nx"
    with pytest.raises(UnparseableMail) as caught:
        parse_mail(raw, Limits(max_mime_depth=8))
    assert caught.value.code == "mime-too-deep"
