"""Hypothesis strategies for hostile mail: MIME trees, headers, encodings and boundaries, built and then corrupted.

Shared by tests/integration/test_hostile_mail.py (bounded for CI) and bench/fuzz.py (long runs).
Mail is assembled byte by byte, so it can be anything a broken or malicious sender writes:
wrong or missing boundaries, unknown or dangerous charsets, undecodable transfer encodings,
raw 8-bit and NUL bytes in headers, encoded-words cut in half, absurd nesting.
"""

from __future__ import annotations

import base64

from hypothesis import strategies as st

CONTACTS = ("alice@example.test", "bob@example.test")
CHARSETS = ("utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "iso-8859-1", "gb2312", "utf-7", "unicode-escape",
            "x-unknown", "", "utf-16", "idna")
ENCODINGS = ("7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus")
TYPES = ("text/plain", "text/html", "application/octet-stream", "message/rfc822", "message/delivery-status",
         "text/rfc822-headers", "image/png", "text/calendar")
SUBTYPES = ("mixed", "alternative", "related", "report", "signed", "digest", "encrypted")

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_junk = st.binary(max_size=40)


@st.composite
def header_value(draw: st.DrawFn) -> bytes:
    """A header value as a sender might write it: plain, raw 8-bit, encoded-words (broken too)."""
    kind = draw(st.integers(0, 5))
    text = draw(_text)
    if kind == 0:
        return text.encode("utf-8")
    if kind == 1:
        return draw(_junk).replace(b"\n", b" ").replace(b"\r", b" ")
    charset = draw(st.sampled_from(CHARSETS)) or "utf-8"
    data = text.encode("utf-8")
    if kind == 2:
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="
    if kind == 3:
        return b"=?" + charset.encode() + b"?Q?" + data.replace(b" ", b"_").replace(b"?", b"=3F") + b"?="
    if kind == 4:  # cut in half, or glued to raw bytes
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data)[: draw(st.integers(0, 8))]
    return b"\x1b$B" + draw(_junk).replace(b"\n", b"") + b"\x1b(B"


_from = st.one_of(st.sampled_from([f"Alice <{CONTACTS[0]}>".encode(), CONTACTS[1].encode(), CONTACTS[0].encode(),
                                   f"=?utf-8?B?QWxpY2U=?= <{CONTACTS[0]}>".encode(), b"x <x>",
                                   b"Test test@example.com", b"<Postmaster\\@x.test@x.test>", b"",
                                   b"MAILER-DAEMON@mx.test", b"engineer@vendor.test", b"\xbc@example.test",
                                   b"stranger@elsewhere.test"]), header_value())


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(st.sampled_from(TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    lines = [b"Content-Type: " + ctype.encode() + (b"; charset=" + charset.encode() if charset else b"")]
    if draw(st.booleans()):
        lines.append(b"Content-Transfer-Encoding: " + encoding.encode())
    if draw(st.booleans()):
        lines.append(b"Content-Disposition: attachment; filename*=" + charset.encode() + b"''%E3%81%82%ZZ" +
                     b"; filename=\"" + draw(header_value()).replace(b'"', b"") + b"\"")
    body = draw(st.one_of(_junk, _text.map(lambda t: t.encode("utf-8")), st.just(b"From: a@b\n\nnested\n")))
    if encoding == "base64" and draw(st.booleans()):
        body = base64.encodebytes(body)
    return b"\n".join(lines) + b"\n\n" + body


def tree(depth: int = 4) -> st.SearchStrategy[bytes]:
    """A MIME entity (headers + body), nested up to `depth`, with its boundaries sometimes wrong."""
    return st.recursive(leaf(), lambda children: st.builds(_multipart, st.sampled_from(SUBTYPES),
                                                          st.lists(children, max_size=4),
                                                          st.sampled_from(["b1", "", "a b", "--", "é", "x" * 80]),
                                                          st.integers(0, 3)), max_leaves=depth * 2)


def _multipart(subtype: str, children: list[bytes], boundary: str, mistake: int) -> bytes:
    wire = boundary.encode("utf-8")
    head = b"Content-Type: multipart/" + subtype.encode() + (b'; boundary="' + wire + b'"' if mistake != 1 else b"")
    used = wire if mistake != 2 else wire + b"-other"
    body = b"".join(b"--" + used + b"\n" + child + b"\n" for child in children)
    end = b"--" + used + b"--\n" if mistake != 3 else b""
    return head + b"\n\n" + body + end


@st.composite
def hostile_mail(draw: st.DrawFn) -> bytes:
    """A whole mail: top headers (some of them hostile), a MIME tree, then a few corrupted bytes."""
    headers = [b"From: " + draw(_from), b"To: support@support.example.test", b"Subject: " + draw(header_value()),
               b"Message-ID: <" + draw(header_value()).replace(b">", b"") + b">"]
    for name in draw(st.lists(st.sampled_from([b"In-Reply-To", b"References", b"Reply-To", b"Sender",
                                               b"Auto-Submitted", b"Precedence", b"List-Id", b"Return-Path",
                                               b"Date", b"X-Loop", b"Received"]), max_size=5)):
        headers.append(name + b": " + draw(header_value()))
    if draw(st.booleans()):
        headers.append(b"MIME-Version: 1.0")
    raw = bytearray(b"\n".join(headers) + b"\n" + draw(tree()))
    for _ in range(draw(st.integers(0, 4))):
        if raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw[at:at + draw(st.integers(0, 3))] = draw(st.binary(max_size=4))
    if draw(st.booleans()):
        raw = raw.replace(b"\n", b"\r\n")
    return bytes(raw)
