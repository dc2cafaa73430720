"""Broken, hostile or huge input gives a ParsedMail or UnparseableMail, nothing else."""

from __future__ import annotations

import base64
import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_mails import BASE, CORPUS, GENERATED, raw_mail, with_attachment

import parsers.elide
import parsers.mail
from parsers import ParsedMail, UnparseableMail, parse_mail

ALL_CORPUS = sorted(CORPUS.glob("**/*.eml"))


def parse_or_reject(raw: bytes) -> ParsedMail | UnparseableMail:
    try:
        return parse_mail(raw)
    except UnparseableMail as exc:
        assert exc.code and exc.code == exc.code.lower() and " " not in exc.code
        return exc


def test_corpus_is_present() -> None:
    names = {path.name for path in ALL_CORPUS}
    assert set(GENERATED) <= names
    assert {"dsn_report.eml", "html_only.eml", "malformed_headers.eml", "nested_multipart.eml"} <= names


@pytest.mark.parametrize("path", ALL_CORPUS, ids=lambda p: p.name)
def test_bare_lf_and_crlf_copies_of_a_mail_parse_identically(path: Path) -> None:
    lf = path.read_bytes().replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")

    assert parse_mail(lf) == parse_mail(crlf)


def test_crlf_text_attachment_hashes_like_its_bare_lf_copy() -> None:
    raw = raw_mail(
        BASE + [("Subject", "log"), ("Content-Type", 'multipart/mixed; boundary="m"')],
        b"--m\nContent-Type: text/plain\n\nbody\n"
        b"--m\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.log\n\nline 1\nline 2\n--m--\n",
    )

    lf, crlf = parse_mail(raw), parse_mail(raw.replace(b"\n", b"\r\n"))

    assert lf.attachments[0].payload == crlf.attachments[0].payload == b"line 1\r\nline 2"


def test_missing_message_id_is_none_not_an_error() -> None:
    mail = parse_mail((CORPUS / "handwritten" / "no_from_no_message_id.eml").read_bytes())

    assert mail.message_id is None
    assert mail.from_addr == "" and mail.from_name == ""
    assert {"missing-message-id", "missing-from"} <= set(mail.defects)
    assert mail.subject == "no sender, no id"


def test_malformed_headers_give_a_mail_with_defects() -> None:
    mail = parse_mail((CORPUS / "handwritten" / "malformed_headers.eml").read_bytes())

    assert mail.from_addr == "broken@example.com"  # the one angle-addr of a From with an open quote
    assert mail.to == ("good@example.com",)
    assert mail.cc == ()
    assert mail.date is None
    assert mail.subject == "malformed but folded"
    assert mail.body_text == "café au lait"
    for defect in (
        "address:from:unclosed-delimiter",
        "address:from:recovered",
        "date:invalid-date-syntax",
        "unknown-charset:x-no-such-charset->utf-8@body",
    ):
        assert defect in mail.defects


def test_stdlib_parse_defects_are_reported() -> None:
    raw = raw_mail(BASE + [("Subject", "x"), ("Content-Type", 'multipart/mixed; boundary="never"')], b"no boundary here\n")

    mail = parse_mail(raw)

    assert "mime:start-boundary-not-found" in mail.defects


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty"),
        (b"\r\n\r\n  \t\n", "empty"),
        (b"just some text, no header section\nat all\n", "not-a-mail"),
        (b"\n\nbody after a blank line\n", "not-a-mail"),
        (b"X-Only: a custom field\n\nbody\n", "not-a-mail"),
        (b"\x00\x01\x02\xff\xfe binary", "not-a-mail"),
    ],
)
def test_input_that_is_not_a_mail_is_rejected_with_a_reason_code(raw: bytes, code: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse_mail(raw)

    assert caught.value.code == code


def test_non_bytes_input_is_rejected_not_crashed_on() -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse_mail("From: a@example.com\n\nx")  # type: ignore[arg-type]

    assert caught.value.code == "not-bytes"


def test_leading_blank_lines_and_mbox_from_line_are_tolerated() -> None:
    mail = parse_mail(b"\r\n\nFrom sender@example.com Tue May 14 10:00:00 2024\nFrom: a@example.com\nSubject: ok\n\nbody\n")

    assert (mail.from_addr, mail.subject, mail.body_text) == ("a@example.com", "ok", "body")


def test_a_failing_stdlib_parser_becomes_parser_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(parsers.mail, "_feed", explode)

    with pytest.raises(UnparseableMail) as caught:
        parse_mail(b"From: a@example.com\n\nx\n")

    assert caught.value.code == "parser-error"
    assert "boom" in caught.value.detail


def nested(depth: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(depth))
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    return b"From: a@example.com\nSubject: deep\n" + head + b"Content-Type: text/plain\n\ndeep body" + tail


def test_moderately_deep_nesting_still_finds_the_body() -> None:
    mail = parse_mail(nested(20))

    assert mail.body_text == "deep body"


def test_nesting_beyond_the_walk_limit_is_a_defect_not_a_crash() -> None:
    mail = parse_mail(nested(60))

    assert "mime-too-deep" in mail.defects
    assert mail.body_text == ""


def test_absurd_nesting_is_rejected_as_too_deep() -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse_mail(nested(3000))

    assert caught.value.code == "mime-too-deep"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_give_a_mail_or_unparseable_mail_only(raw: bytes) -> None:
    parse_or_reject(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_after_a_valid_header_section_never_crash(tail: bytes) -> None:
    result = parse_or_reject(b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\n" + tail)

    assert isinstance(result, ParsedMail)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_CORPUS), st.data())
def test_mangled_corpus_mails_never_crash(path: Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at : at + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=4))
    parse_or_reject(bytes(raw[: data.draw(st.integers(0, len(raw)))]))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "References", "Content-Type"]),
            st.text(max_size=80).filter(lambda v: "\n" not in v and "\r" not in v),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_arbitrary_header_values_never_crash(headers: list[tuple[str, str]]) -> None:
    raw = b"".join(name.encode() + b": " + value.encode("utf-8", "surrogateescape") + b"\n" for name, value in headers)
    result = parse_or_reject(raw + b"\nbody\n")

    assert isinstance(result, ParsedMail)
    for values in result.headers.values():
        for value in values:
            assert "\n" not in value and "\r" not in value
            value.encode("utf-8")  # no lone surrogates reach the rest of the gateway


def big_attachment_mail(size: int) -> tuple[bytes, bytes]:
    payload = os.urandom(size)
    return with_attachment(payload, "big.bin", "application/octet-stream"), payload


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_big_base64_attachment_parses_the_same_with_and_without_the_memory_shortcut(
    monkeypatch: pytest.MonkeyPatch, line_end: bytes
) -> None:
    raw, payload = big_attachment_mail(900_000)
    raw = raw.replace(b"\n", line_end)

    shortcut = parse_mail(raw)
    monkeypatch.setattr(parsers.elide, "MIN_MAIL", len(raw) + 1)
    plain = parse_mail(raw)

    assert shortcut == plain
    assert shortcut.attachments[0].payload == payload
    assert shortcut.attachments[0].sha256 == hashlib.sha256(payload).hexdigest()


def test_a_mail_that_is_one_big_base64_part_is_one_attachment() -> None:
    payload = os.urandom(800_000)
    raw = raw_mail(
        BASE + [("Subject", "scan"), ("Content-Type", "image/tiff"), ("Content-Transfer-Encoding", "base64")],
        base64.encodebytes(payload),
        crlf=True,
    )

    mail = parse_mail(raw)

    assert [(a.content_type, a.payload == payload) for a in mail.attachments] == [("image/tiff", True)]
    assert mail.body_source == "none"


def test_long_base64_looking_text_in_a_plain_body_is_restored_exactly() -> None:
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo" * 2 + b"\n"
    text = line * 20_000  # ~1.4 MB of base64-looking lines in a 7bit text body
    raw = raw_mail(BASE + [("Subject", "paste"), ("Content-Type", "text/plain")], b"intro\n" + text + b"outro\n")

    mail = parse_mail(raw)

    assert mail.body_text == (b"intro\n" + text + b"outro\n").decode().strip("\n")


def test_big_attachment_inside_a_forwarded_message_is_restored_in_its_bytes() -> None:
    inner, payload = big_attachment_mail(700_000)
    raw = raw_mail(
        BASE + [("Subject", "fwd"), ("Content-Type", 'multipart/mixed; boundary="outer"')],
        b"--outer\nContent-Type: text/plain\n\nsee forwarded\n--outer\nContent-Type: message/rfc822\n\n"
        + inner.replace(b"\r\n", b"\n")
        + b"\n--outer--\n",
    )

    forwarded = parse_mail(raw).attachments[0]
    reparsed = parse_mail(forwarded.payload)

    assert forwarded.content_type == "message/rfc822"
    assert reparsed.attachments[0].payload == payload


b64_line = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=20)
odd_line = st.text(alphabet="aF:-= \t\rom日é", max_size=12)
some_line = st.one_of(
    b64_line,
    b64_line,
    odd_line,
    st.sampled_from(
        ["", "--m", "--m--", "--x", "--x--", "From x", "a: b", " folded", "text with spaces", "Subject: inner",
         "Content-Type: text/plain", "Content-Transfer-Encoding: base64", "Content-Type: message/rfc822",
         "Content-Type: multipart/mixed; boundary=x", "Content-Type: message/delivery-status"]
    ),
)
part_head = st.sampled_from(
    ["Content-Transfer-Encoding: base64\n\n", "Content-Type: text/plain\n\n", "Content-Type: message/rfc822\n\n",
     "Content-Type: message/delivery-status\n\n", "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n",
     "Content-Type: multipart/mixed; boundary=x\n\n--x\n", "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n", ""]
)


@settings(max_examples=400, deadline=None)
@given(part_head, st.lists(some_line, max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_the_memory_shortcut_never_changes_what_a_mail_parses_to(head: str, lines: list[str], eol: str) -> None:
    top = "From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\npreamble\n--m\n"
    raw = (top + head + "\n".join(lines) + "\n--m--\nepilogue\n").replace("\n", eol).encode()

    plain = parse_or_reject(raw)
    with pytest.MonkeyPatch.context() as patch:  # cut out every run of 4+ inert characters
        patch.setattr(parsers.elide, "MIN_MAIL", 0)
        patch.setattr(parsers.elide, "_WINDOW", 8)
        patch.setattr(parsers.elide, "_MIN_SPAN", 4)
        shortcut = parse_or_reject(raw)

    if isinstance(plain, UnparseableMail):
        assert isinstance(shortcut, UnparseableMail) and shortcut.code == plain.code
    else:
        assert shortcut == plain


def test_shortcut_restores_8bit_lines_in_a_uuencoded_part(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "begin 644 f.txt\n" + "日本語の行です\n" * 20 + "`\nend\n"
    raw = raw_mail(BASE + [("Subject", "uu"), ("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "x-uuencode")], body.encode())
    plain = parse_mail(raw)

    monkeypatch.setattr(parsers.elide, "MIN_MAIL", 0)
    monkeypatch.setattr(parsers.elide, "_MIN_SPAN", 16)
    assert parsers.elide.elide(raw)[1] is not None
    assert parse_mail(raw) == plain


def test_a_sender_cannot_forge_the_placeholder_used_for_big_bodies() -> None:
    payload = os.urandom(600_000)
    forged = "SGW0123456789abcdefX0Z SGW" + "0" * 16 + "X0Z"
    raw = raw_mail(
        BASE + [("Subject", "forged"), ("Content-Type", 'multipart/mixed; boundary="m"')],
        b"--m\nContent-Type: text/plain\n\n" + forged.encode()
        + b"\n--m\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(payload) + b"--m--\n",
    )

    mail = parse_mail(raw)

    assert mail.body_text == forged
    assert mail.attachments[0].payload == payload


def test_big_attachment_peak_memory_stays_well_under_twice_the_mail_size() -> None:
    raw, payload = big_attachment_mail(6 * 1024 * 1024)

    tracemalloc.start()
    try:
        mail = parse_mail(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert mail.attachments[0].payload == payload
    assert peak < 1.2 * len(raw), f"peak {peak / len(raw):.2f}x the mail size"


def test_big_plain_text_body_costs_about_two_copies_not_the_parsers_line_list() -> None:
    lines = b"".join(b"2024-05-14 10:23:%02d ERROR job %d failed: timeout\n" % (i % 60, i) for i in range(60_000))
    raw = raw_mail(BASE + [("Subject", "log"), ("Content-Type", "text/plain")], lines)

    tracemalloc.start()
    try:
        mail = parse_mail(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert mail.body_text == lines.decode().strip("\n")
    assert peak < 2.5 * len(raw), f"peak {peak / len(raw):.2f}x the mail size"  # stdlib alone: ~3.1x


def test_base64_attachment_with_broken_padding_is_decoded_like_a_mail_client_would() -> None:
    body = base64.b64encode(b"hello world!!").rstrip(b"=")[:-1] + b"\n"  # lost padding and one char
    raw = raw_mail(BASE + [("Subject", "x"), ("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "base64")], body)

    assert parse_mail(raw).attachments[0].payload == b"hello world!"


def test_a_mail_handed_over_as_a_bytearray_parses_exactly_as_the_same_bytes() -> None:
    """The store hands big mails over as bytearrays (store.blobs.pg_read), without a copy."""
    from parsers import parse_mail
    from tests.support.mails import customer_mail

    from email.message import EmailMessage

    raw = customer_mail(body="本文です。\n" * 3) + b"\r\n"
    assert parse_mail(bytearray(raw)) == parse_mail(raw)
    big = EmailMessage()  # over parsers.elide.MIN_MAIL: the big body is cut out and read back by slices
    big["From"], big["To"], big["Subject"] = "alice@example.test", "support@example.test", "dump"
    big.set_content("attached\n")
    big.add_attachment(bytes(range(256)) * 3000, maintype="application", subtype="octet-stream", filename="d.bin")
    raw = big.as_bytes()
    parsed = parse_mail(bytearray(raw))
    assert parsed == parse_mail(raw) and parsed.attachments[0].payload == bytes(range(256)) * 3000


def test_blank_lines_between_delivery_status_blocks_survive_the_memory_shortcut() -> None:
    # Found by the property test above: a base64-looking run "0\n\n0" inside message/delivery-status
    # was cut out whole, and with it the blank line that separates two blocks of fields (RFC 3464 §2.1).
    raw = (b"From: a@example.com\nContent-Type: multipart/mixed; boundary=m\n\npreamble\n--m\n"
           b"Content-Type: message/delivery-status\n\nContent-Type: multipart/mixed; boundary=x\n0\n\n0\n"
           b"--m--\nepilogue\n")
    plain = parse_mail(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parsers.elide, "MIN_MAIL", 0)
        patch.setattr(parsers.elide, "_WINDOW", 8)
        patch.setattr(parsers.elide, "_MIN_SPAN", 4)
        assert parse_mail(raw) == plain
