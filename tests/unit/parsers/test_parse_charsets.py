"""Charset labels are honoured when true, second-guessed when not, never fatal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_mails import cp50220

from parsers.charsets import decode_text
from parsers.iso2022jp import decode_iso2022jp


def test_every_cp932_double_byte_character_round_trips_through_outlook_jis() -> None:
    # All of CP932's double-byte repertoire that fits JIS rows 0x21-0x7E (the
    # user-defined area 0xF040-0xF9FC does not).
    chars = []
    for lead in list(range(0x81, 0xA0)) + list(range(0xE0, 0xF0)) + list(range(0xFA, 0xFD)):
        for trail in list(range(0x40, 0x7F)) + list(range(0x80, 0xFD)):
            try:
                char = bytes((lead, trail)).decode("cp932")
            except UnicodeDecodeError:
                continue
            if char.encode("cp932") == bytes((lead, trail)):  # skip IBM duplicates of NEC cells
                chars.append(char)
    text = "".join(chars)

    assert decode_iso2022jp(cp50220(text)) == text


def test_iso_8859_1_label_reads_windows_1252_smart_quotes() -> None:
    assert decode_text("“quoted” – café".encode("cp1252"), "iso-8859-1") == ("“quoted” – café", None)


def test_gb2312_label_reads_gbk_characters() -> None:
    assert decode_text("镕".encode("gbk"), "gb2312") == ("镕", None)


def test_ks_c_5601_label_from_korean_outlook_is_understood() -> None:
    assert decode_text("안녕하세요".encode("cp949"), "ks_c_5601-1987") == ("안녕하세요", None)


def test_iso_2022_jp_2_with_korean_designation_decodes() -> None:
    data = "한국어 日本語".encode("iso2022_jp_2")

    assert decode_text(data, "ISO-2022-JP-2") == ("한국어 日本語", None)


@pytest.mark.parametrize("label", ["unicode_escape", "raw-unicode-escape", "idna", "undefined", "rot13", "zlib"])
def test_dangerous_or_non_text_codec_labels_are_treated_as_unknown(label: str) -> None:
    text, defect = decode_text(b"\\u0041 plain", label)

    assert text == "\\u0041 plain"
    assert defect is not None and defect.startswith("unknown-charset:")


def test_utf7_that_decodes_to_lone_surrogates_is_not_accepted() -> None:
    text, defect = decode_text(b"+2D0-", "utf-7")  # U+D83D alone

    text.encode("utf-8")
    assert defect is not None


def test_rfc2231_language_suffix_on_a_label_is_ignored() -> None:
    assert decode_text("日本".encode("cp932"), "shift_jis*ja") == ("日本", None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([None, "utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "us-ascii", "x-bogus", "utf-16", "iso-8859-1"]))
def test_any_bytes_under_any_label_give_encodable_text(data: bytes, label: str | None) -> None:
    text, _defect = decode_text(data, label)

    text.encode("utf-8")
