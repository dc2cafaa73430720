"""Evidence for what we take from mail-parser 4.8 and what we work around.

The "still" tests pin mail-parser behaviour that parsers/ bypasses. If one
starts failing after an upgrade, mail-parser changed: re-check whether the
workaround named in the test is still needed.
"""

from __future__ import annotations

import base64

import mailparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mailparser.dates import parse_mail_date
from mailparser.utils import decode_base64_payload, get_addresses
from parser_mails import BASE, b_word, cp50220, iso2022jp_7bit, raw_mail, shift_jis_8bit

from parsers import parse_mail
from parsers.addresses import _simple
from parsers.transfer import decode_base64


def test_mailparser_still_returns_7bit_iso2022jp_bodies_as_escape_codes() -> None:
    raw = iso2022jp_7bit("件名", "本文です")

    assert mailparser.parse_from_bytes(raw).text_plain == ["\x1b$BK\\J8$G$9\x1b(B\n"]
    assert parse_mail(raw).body_text == "本文です"  # workaround: parsers.charsets


def test_mailparser_still_cannot_decode_cp50220_subjects_or_bodies() -> None:
    headers = BASE + [("Subject", b_word(cp50220("①㈱"))), ("Content-Type", "text/plain; charset=iso-2022-jp")]
    raw = raw_mail(headers, cp50220("Ⅱ期"))

    parsed = mailparser.parse_from_bytes(raw)

    assert "\x1b" in parsed.subject
    assert "\x1b" in parsed.text_plain[0]
    ours = parse_mail(raw)
    assert (ours.subject, ours.body_text) == ("①㈱", "Ⅱ期")  # workaround: parsers.iso2022jp


def test_mailparser_still_reads_shift_jis_labels_without_windows_characters() -> None:
    raw = shift_jis_8bit("件名", "①㈱～")

    parsed = mailparser.parse_from_bytes(raw)

    assert "①" not in parsed.text_plain[0]
    assert any("CharsetDecodeDefect" in str(d) for d in parsed.defects)
    assert parse_mail(raw).body_text == "①㈱～"  # workaround: Shift_JIS label -> cp932


def test_mailparser_still_garbles_raw_shift_jis_headers() -> None:
    raw = raw_mail([("From", "髙橋 <t@example.jp>".encode("cp932")), ("Subject", "件名".encode("cp932"))], b"x\n")

    parsed = mailparser.parse_from_bytes(raw)

    assert parsed.subject != "件名"
    assert "\\udc" in parsed.from_[0][0]
    ours = parse_mail(raw)
    assert (ours.subject, ours.from_name) == ("件名", "髙橋")  # workaround: parsers.headers.header_text


def test_get_addresses_still_turns_raw_8bit_names_into_backslash_escapes() -> None:
    raw_value = "山田 <yamada@example.jp>".encode().decode("ascii", "surrogateescape")

    diagnostics: list[dict] = []
    ((name, address),) = get_addresses(raw_value, defects=diagnostics)

    assert address == "yamada@example.jp"
    assert name.startswith("\\udce5")
    assert diagnostics[0]["reason"] == "invalid-utf8"
    # workaround: parsers.addresses reads the bytes first
    assert get_addresses("山田 <yamada@example.jp>") == [("山田", "yamada@example.jp")]


def test_get_addresses_still_leaves_cp50220_encoded_names_undecoded() -> None:
    word = b_word(cp50220("㈱"))

    assert get_addresses(f"{word} <a@example.jp>", decode_names=True) == [(word, "a@example.jp")]


def test_parse_mail_date_still_reads_jst_as_utc_and_rounds_offsets() -> None:
    jst = parse_mail_date("Tue, 14 May 2024 10:00:00 JST")
    nepal = parse_mail_date("Tue, 14 May 2024 10:00:00 +0545")

    assert jst.value.hour == 10 and jst.value.utcoffset().total_seconds() == 0
    assert nepal.timezone == "+5.8"  # hence parsers.dates re-attaches the exact offset


def test_parse_mail_date_rejects_impossible_dates_the_stdlib_would_need_guarding_for() -> None:
    assert parse_mail_date("Fri, 31 Feb 2024 10:00:00 +0900").value is None
    assert parse_mail_date("Tue, 14 May 2024 10:00:00 +0900").reasons == ()


def test_parse_from_bytes_still_base64_encodes_attachments_it_already_decoded() -> None:
    raw = raw_mail(
        BASE + [("Subject", "x"), ("Content-Type", 'application/pdf; name="a.pdf"'), ("Content-Transfer-Encoding", "quoted-printable")],
        b"%PDF=3D\n",
    )

    attachment = mailparser.parse_from_bytes(raw).attachments[0]

    assert attachment["binary"] is True
    assert base64.b64decode(attachment["payload"]) == b"%PDF=\n"  # a str to decode again
    assert parse_mail(raw).attachments[0].payload == b"%PDF=\n"


base64_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r -_!", max_size=400)


@settings(max_examples=500, deadline=None)
@given(base64_text)
def test_our_streaming_base64_decoder_agrees_with_mailparsers_lenient_decoder(text: str) -> None:
    assert decode_base64(text.encode()) == decode_base64_payload(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_streaming_base64_decoder_round_trips_real_base64(payload: bytes) -> None:
    encoded = base64.encodebytes(payload)

    assert decode_base64(encoded) == payload
    assert decode_base64(encoded.replace(b"\n", b"\r\n")) == payload


atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=8)
domain = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8), min_size=1, max_size=3).map(".".join)
addr = st.builds(lambda local, dom: f"{local}@{dom}", st.lists(atom, min_size=1, max_size=2).map(".".join), domain)
name = st.text(alphabet="abcdefgXYZ 山田太郎.,:;<>@()\"'\\=?", max_size=12)
item = st.one_of(
    addr,
    st.builds(lambda n, a: f"{n} <{a}>", name, addr),
    st.builds(lambda n, a: f'"{n}" <{a}>', name, addr),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(item, min_size=1, max_size=4).map(", ".join))
def test_address_fast_path_agrees_with_get_addresses_whenever_it_answers(value: str) -> None:
    fast = _simple(value)
    if fast is None:
        return
    slow = [(n, a) for n, a in get_addresses(value) if a]
    assert [(n.strip(), a) for n, a in fast] == [(n.strip(), a) for n, a in slow]


@pytest.mark.parametrize("value", ['"Doe, Jane" <j@example.com>', "a@example.com (comment)", "Group: a@example.com;", "J. Doe <j@example.com>"])
def test_address_fast_path_declines_what_needs_the_full_parser(value: str) -> None:
    assert _simple(value) is None
