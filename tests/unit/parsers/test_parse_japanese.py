"""Japanese mail comes out as readable text, whatever the mailer did to it."""

from __future__ import annotations

import base64

import pytest
from parser_mails import BASE, CORPUS, b_word, cp50220, euc_jp, iso2022jp_7bit, raw_mail

from parsers import parse_mail


@pytest.mark.parametrize("cte", ["7bit", None])
def test_iso2022jp_7bit_body_is_decoded_not_left_as_escape_codes(cte: str | None) -> None:
    mail = parse_mail(iso2022jp_7bit("お問い合わせ", "お世話になっております。\n障害の件です。", cte=cte))

    assert mail.body_text == "お世話になっております。\n障害の件です。"
    assert "\x1b" not in mail.body_text
    assert mail.subject == "お問い合わせ"
    assert mail.body_source == "plain"
    assert mail.defects == ()


def test_outlook_cp50220_circled_digits_roman_numerals_and_kabushiki_survive_in_subject_and_body() -> None:
    mail = parse_mail((CORPUS / "generated" / "outlook_cp50220.eml").read_bytes())

    assert mail.subject == "①障害報告 Ⅱ期 ㈱サンプル"
    assert mail.body_text == "①サーバー停止\nⅡ．再起動\n㈱サンプル 髙橋\n10～20時"
    assert mail.from_name == "㈱サンプル 髙橋"
    assert mail.from_addr == "takahashi@example.co.jp"
    assert mail.defects == ()


def test_cp50220_body_sent_base64_is_decoded_too() -> None:
    body = base64.b64encode(cp50220("Ⅲ号機 ㈲ ①〜⑳ ㍉"))
    headers = BASE + [
        ("Subject", "base64"),
        ("Content-Type", "text/plain; charset=iso-2022-jp"),
        ("Content-Transfer-Encoding", "base64"),
    ]

    mail = parse_mail(raw_mail(headers, body + b"\n"))

    assert mail.body_text == "Ⅲ号機 ㈲ ①～⑳ ㍉"


def test_wave_dash_reads_the_same_with_or_without_cp50220_characters_nearby() -> None:
    # 0x2141 is "～" to Outlook (CP932) and "〜" to Python's JIS table: the
    # desk must see one character whichever path decoded the text.
    plain = parse_mail(iso2022jp_7bit("x", "10\u301c20時"))  # as a Unix mailer writes it
    outlook = parse_mail(raw_mail(BASE + [("Subject", "x"), ("Content-Type", "text/plain; charset=iso-2022-jp")], cp50220("① 10～20時")))

    assert plain.body_text == "10～20時"
    assert outlook.body_text == "① 10～20時"


def test_shift_jis_label_is_read_as_cp932_so_windows_characters_decode() -> None:
    mail = parse_mail((CORPUS / "generated" / "shift_jis_cp932.eml").read_bytes())

    assert mail.subject == "①件名～"
    assert mail.body_text == "①②③ ㈱テスト 髙橋 ～"
    assert mail.defects == ()


def test_euc_jp_mail_decodes() -> None:
    mail = parse_mail(euc_jp("EUC-JPの件名", "EUC-JPの本文です。"))

    assert mail.subject == "EUC-JPの件名"
    assert mail.body_text == "EUC-JPの本文です。"


def test_euc_jp_with_nec_special_characters_falls_back_to_euc_jis_2004() -> None:
    headers = BASE + [("Subject", "x"), ("Content-Type", "text/plain; charset=EUC-JP")]

    mail = parse_mail(raw_mail(headers, "①番 テスト".encode("euc_jis_2004")))

    assert mail.body_text == "①番 テスト"
    assert mail.defects == ()


def test_raw_utf8_header_bytes_are_readable_and_keep_the_address() -> None:
    headers = [
        ("From", "山田 太郎 <Taro@Example.JP>".encode()),
        ("To", "佐藤 <sato@example.jp>, b@example.jp".encode()),
        ("Subject", "件名テスト".encode()),
        ("Message-ID", "<utf8@example.jp>"),
    ]

    mail = parse_mail(raw_mail(headers, b"body\n"))

    assert (mail.from_name, mail.from_addr) == ("山田 太郎", "taro@example.jp")
    assert mail.to == ("sato@example.jp", "b@example.jp")
    assert mail.subject == "件名テスト"
    assert mail.header("to") == "佐藤 <sato@example.jp>, b@example.jp"
    assert not [d for d in mail.defects if d.startswith("raw-header-charset")]  # RFC 6532 allows UTF-8


def test_raw_shift_jis_header_bytes_are_readable_and_flagged() -> None:
    headers = [
        ("From", "髙橋 ㈱ <takahashi@example.jp>".encode("cp932")),
        ("Subject", "①件名テスト".encode("cp932")),
        ("Message-ID", "<sjis@example.jp>"),
    ]

    mail = parse_mail(raw_mail(headers, b"body\n"))

    assert mail.subject == "①件名テスト"
    assert (mail.from_name, mail.from_addr) == ("髙橋 ㈱", "takahashi@example.jp")
    assert "raw-header-charset:subject:cp932" in mail.defects


def test_raw_iso2022jp_in_a_header_without_encoded_words_is_decoded() -> None:
    mail = parse_mail(raw_mail([("From", "a@example.jp"), ("Subject", cp50220("生JIS件名①"))], b"x\n"))

    assert mail.subject == "生JIS件名①"


def test_encoded_word_split_in_the_middle_of_a_character_still_decodes() -> None:
    data = "分割された件名".encode("utf-8")
    subject = b_word(data[:4], "UTF-8") + "\n " + b_word(data[4:], "UTF-8")

    mail = parse_mail(raw_mail([("From", "a@example.jp"), ("Subject", subject)], b"x\n"))

    assert mail.subject == "分割された件名"


def test_encoded_word_glued_to_text_and_quoted_display_names_are_decoded() -> None:
    headers = [
        ("From", '"' + b_word(cp50220("㈱テスト")) + '" <info@example.jp>'),
        ("Subject", "Re:" + b_word("返信".encode("iso2022_jp"))),
    ]

    mail = parse_mail(raw_mail(headers, b"x\n"))

    assert mail.subject == "Re:返信"
    assert mail.from_name == "㈱テスト"


def test_unlabelled_jis_body_is_recognised() -> None:
    mail = parse_mail(raw_mail([("From", "a@example.jp"), ("Subject", "x")], "ラベルなし".encode("iso2022_jp")))

    assert mail.body_text == "ラベルなし"


def test_jis_roman_escape_keeps_backslashes_as_backslashes() -> None:
    body = b"\x1b$B%Q%9\x1b(J C:\\temp\\log ~user\x1b(B"
    headers = [("From", "a@example.jp"), ("Subject", "x"), ("Content-Type", "text/plain; charset=ISO-2022-JP")]

    mail = parse_mail(raw_mail(headers, body))

    assert mail.body_text == "パス C:\\temp\\log ~user"


def test_halfwidth_katakana_under_esc_paren_i_decode() -> None:
    headers = [("From", "a@example.jp"), ("Subject", "x"), ("Content-Type", "text/plain; charset=ISO-2022-JP")]

    mail = parse_mail(raw_mail(headers, b"\x1b(I1286\x1b(B"))

    assert mail.body_text == "ｱｲｸｶ"


@pytest.mark.parametrize(
    ("label", "data", "expected", "defect"),
    [
        ("utf-8", "①請求書".encode("cp932"), "①請求書", "charset-mismatch:utf-8->cp932@body"),
        ("us-ascii", "こんにちは".encode(), "こんにちは", "charset-mismatch:us-ascii->utf-8@body"),
        ("x-unknown-jp", "見積書".encode("cp932"), "見積書", "unknown-charset:x-unknown-jp->cp932@body"),
        ("iso-2022-jp", "本文".encode("cp932"), "本文", "charset-mismatch:iso-2022-jp->cp932@body"),
        ("iso-8859-1", "日本語".encode(), "日本語", "charset-mismatch:iso-8859-1->utf-8@body"),
        ("base64", "テキスト".encode(), "テキスト", "unknown-charset:base64->utf-8@body"),
    ],
)
def test_lying_or_unknown_charset_labels_fall_back_to_readable_text_with_a_defect(
    label: str, data: bytes, expected: str, defect: str
) -> None:
    headers = [("From", "a@example.jp"), ("Subject", "x"), ("Content-Type", f"text/plain; charset={label}")]

    mail = parse_mail(raw_mail(headers, data))

    assert mail.body_text == expected
    assert defect in mail.defects


def test_euc_jp_bytes_without_a_label_are_not_read_as_halfwidth_katakana() -> None:
    headers = [("From", "a@example.jp"), ("Subject", "x")]

    mail = parse_mail(raw_mail(headers, "ラベルのないEUC-JPの本文です".encode("euc_jp")))

    assert mail.body_text == "ラベルのないEUC-JPの本文です"
    assert "charset-mismatch:none->euc_jp@body" in mail.defects


def test_bytes_that_fit_no_charset_still_give_text_and_a_defect() -> None:
    headers = [("From", "a@example.jp"), ("Subject", "x"), ("Content-Type", "text/plain; charset=utf-8")]

    mail = parse_mail(raw_mail(headers, b"ok \xff\xfe\x80 ok"))

    assert mail.body_text.startswith("ok ") and mail.body_text.endswith(" ok")
    assert "\ufffd" in mail.body_text
    assert any(d.startswith("charset-mismatch:utf-8->") for d in mail.defects)
