"""Outgoing attachments (issue 11): names cleaned, RFC 2231 parameters, byte-identical parts, short lines."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy

import pytest

from gateway.outbound.mime import OutgoingMail, build_message
from gateway.outbound.mime_parts import MAX_FILENAME, OutgoingAttachment, clean_filename, rfc2231_tokens

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


@pytest.mark.parametrize("hostile, cleaned", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\evil.exe", "evil.exe"),
    ("re\x00port.pdf", "report.pdf"),
    ("bad\r\nContent-Type: text/html.txt", "html.txt"),  # the "/" is a path separator too
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    (".htaccess", "htaccess"),
    ("CON.txt", "_CON.txt"),
    ("", "attachment.pdf"),
    (None, "attachment.pdf"),
    ("../", "attachment.pdf"),
], ids=["dot-dot", "windows-path", "nul", "crlf", "bidi-override", "hidden", "reserved", "empty", "none", "only-path"])
def test_hostile_filenames_are_cleaned_before_they_are_written(hostile: str | None, cleaned: str) -> None:
    assert clean_filename(hostile, "application/pdf") == cleaned


def test_an_absurdly_long_filename_is_cut_keeping_its_extension() -> None:
    name = clean_filename("報告" * 300 + ".pdf")
    assert len(name) == MAX_FILENAME and name.endswith(".pdf")


def test_a_plain_ascii_filename_is_a_quoted_parameter_and_a_japanese_one_rfc_2231_continuations() -> None:
    assert rfc2231_tokens("filename", "agent.log") == ['filename="agent.log"']
    tokens = rfc2231_tokens("filename", "バックアップ設定手順書.pdf")
    assert tokens[0].startswith("filename*0*=utf-8''%E3%83%90") and tokens[-1].endswith(".pdf")
    assert all(t.endswith(";") for t in tokens[:-1]) and all(len(t) <= 70 for t in tokens)


@pytest.mark.parametrize("charset", ["iso-2022-jp", "utf-8"])
def test_a_mail_with_files_carries_them_byte_for_byte_with_lines_within_78_characters(charset: str) -> None:
    mail = OutgoingMail("support@v.test", "サポート", ("a@b.test",), "手順書の件", "手順書を添付いたします。\n",
                        "gw.1@v.test", datetime(2026, 11, 24, tzinfo=timezone.utc), charset, attachments=(
                            OutgoingAttachment("バックアップ設定手順書.pdf", "application/pdf", PDF),
                            OutgoingAttachment("shot.png", "image/png", b"\x89PNG", "shot1@v.test", inline=True)))
    raw = build_message(mail)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    message = message_from_bytes(raw, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "手順書を添付いたします。"
    [pdf] = message.iter_attachments()
    assert (pdf.get_filename(), pdf.get_payload(decode=True)) == ("バックアップ設定手順書.pdf", PDF)
    assert f"=?{charset}?b?" in str(pdf.as_bytes())  # the legacy name= in the customer's header charset
    [png] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert png["Content-ID"] == "<shot1@v.test>" and png.get_content_disposition() == "inline"
    assert '<img src="cid:shot1@v.test"' in message.get_body(("html",)).get_content()
    assert png.get_payload(decode=True) == b"\x89PNG"


def test_an_outlook_pdf_with_a_content_id_still_arrives_as_a_file() -> None:
    mail = OutgoingMail("s@v.test", "", ("a@b.test",), "x", "x", "gw.3@v.test", datetime(2026, 1, 1, tzinfo=timezone.utc),
                        attachments=(OutgoingAttachment("a.pdf", "application/pdf", PDF, "ol1@x"),))
    message = message_from_bytes(build_message(mail), policy=policy.default)
    [pdf] = message.iter_attachments()
    assert pdf.get_content_disposition() == "attachment" and message.get_body(("html",)) is None


def test_an_unknown_content_type_becomes_application_octet_stream() -> None:
    mail = OutgoingMail("s@v.test", "", ("a@b.test",), "x", "x", "gw.2@v.test", datetime(2026, 1, 1, tzinfo=timezone.utc),
                        attachments=(OutgoingAttachment("a.bin", "text/html\r\nX-Evil: 1", b"data"),))
    raw = build_message(mail)
    assert b"X-Evil" not in raw and b"Content-Type: application/octet-stream;" in raw
