"""Builders for the generated part of the parser corpus.

Python's email package writes ISO-2022-JP, Shift_JIS and EUC-JP mail; the
Outlook CP50220 bytes (① as JIS 0x2D21 under ESC $ B, and so on) are made
by hand here, the way Windows' encoder makes them: CP932 bytes run through
the Shift_JIS -> JIS arithmetic.

Run ``python tests/unit/parsers/parser_mails.py`` to rewrite the generated
.eml files under tests/corpus/generated/.
"""

from __future__ import annotations

import base64
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _sjis_to_jis(s1: int, s2: int) -> bytes:
    row = (s1 - (0x70 if s1 <= 0x9F else 0xB0)) * 2
    if s2 >= 0x9F:
        return bytes((row, s2 - 0x7E))
    return bytes((row - 1, s2 - (0x20 if s2 >= 0x80 else 0x1F)))


def cp50220(text: str) -> bytes:
    """Encode like Outlook's ISO-2022-JP (CP50220): CP932 characters under ESC $ B."""
    out = bytearray()
    double = False
    for char in text:
        if char.isascii():
            if double:
                out += b"\x1b(B"
                double = False
            out += char.encode("ascii")
            continue
        sjis = char.encode("cp932")
        if len(sjis) != 2:
            raise ValueError(f"{char!r} is not a double-byte CP932 character")
        if not double:
            out += b"\x1b$B"
            double = True
        out += _sjis_to_jis(sjis[0], sjis[1])
    if double:
        out += b"\x1b(B"
    return bytes(out)


def b_word(data: bytes, charset: str = "ISO-2022-JP") -> str:
    """An RFC 2047 "B" encoded-word around already encoded bytes."""
    return f"=?{charset}?B?{base64.b64encode(data).decode('ascii')}?="


def raw_mail(headers: list[tuple[str, str | bytes]], body: bytes, *, crlf: bool = False) -> bytes:
    """Assemble a mail from header lines and body bytes, byte for byte."""
    lines = []
    for name, value in headers:
        value = value.encode("ascii") if isinstance(value, str) else value
        lines.append(name.encode("ascii") + b": " + value)
    mail = b"\n".join(lines) + b"\n\n" + body
    return mail.replace(b"\n", b"\r\n") if crlf else mail


BASE = [
    ("From", "Taro Yamada <taro@example.co.jp>"),
    ("To", "support@vendor.example"),
    ("Date", "Tue, 14 May 2024 10:23:45 +0900"),
    ("Message-ID", "<base@example.co.jp>"),
    ("MIME-Version", "1.0"),
]


def iso2022jp_7bit(subject: str, body: str, *, cte: str | None = "7bit") -> bytes:
    """Plain ISO-2022-JP mail as Japanese mailers send it: 7-bit JIS in the body."""
    headers = BASE + [
        ("Subject", b_word(subject.encode("iso2022_jp"))),
        ("Content-Type", "text/plain; charset=ISO-2022-JP"),
    ]
    if cte:
        headers.append(("Content-Transfer-Encoding", cte))
    return raw_mail(headers, body.encode("iso2022_jp") + b"\n")


def outlook_cp50220(subject: str, body: str) -> bytes:
    """Outlook-style ISO-2022-JP with CP932-only characters in subject and body."""
    headers = [
        ("From", b_word(cp50220("㈱サンプル 髙橋")) + " <takahashi@example.co.jp>"),
        ("To", "support@vendor.example"),
        ("Subject", b_word(cp50220(subject))),
        ("Date", "Tue, 14 May 2024 10:23:45 +0900"),
        ("Message-ID", "<outlook@example.co.jp>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="iso-2022-jp"'),
        ("Content-Transfer-Encoding", "7bit"),
        ("X-Mailer", "Microsoft Outlook 16.0"),
    ]
    return raw_mail(headers, cp50220(body) + b"\n")


def shift_jis_8bit(subject: str, body: str) -> bytes:
    """A Shift_JIS label on CP932 bytes, 8-bit body and B-encoded subject."""
    headers = BASE + [
        ("Subject", b_word(subject.encode("cp932"), "Shift_JIS")),
        ("Content-Type", "text/plain; charset=Shift_JIS"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    return raw_mail(headers, body.encode("cp932") + b"\n")


def euc_jp(subject: str, body: str) -> bytes:
    msg = MIMEText(body, "plain", "euc-jp")
    msg["Subject"] = Header(subject, "euc-jp")
    for name, value in BASE:
        msg[name] = value
    return msg.as_bytes()


def alternative(plain: str | None, html: str | None) -> bytes:
    msg = MIMEMultipart("alternative")
    for name, value in BASE:
        msg[name] = value
    msg["Subject"] = "alternative"
    if plain is not None:
        msg.attach(MIMEText(plain, "plain", "utf-8"))
    if html is not None:
        msg.attach(MIMEText(html, "html", "utf-8"))
    return msg.as_bytes()


def with_attachment(payload: bytes, filename: str, ctype: str = "application/pdf") -> bytes:
    msg = MIMEMultipart()
    for name, value in BASE:
        msg[name] = value
    msg["Subject"] = "attachment"
    msg.attach(MIMEText("see attached", "plain", "utf-8"))
    maintype, subtype = ctype.split("/")
    part = MIMEApplication(payload, subtype)
    part.replace_header("Content-Type", ctype)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    msg.attach(part)
    return msg.as_bytes()


GENERATED = {
    "iso2022jp_7bit.eml": lambda: iso2022jp_7bit("お問い合わせ", "お世話になっております。\n障害の件です。"),
    "outlook_cp50220.eml": lambda: outlook_cp50220(
        "①障害報告 Ⅱ期 ㈱サンプル", "①サーバー停止\nⅡ．再起動\n㈱サンプル 髙橋\n10～20時"
    ),
    "shift_jis_cp932.eml": lambda: shift_jis_8bit("①件名～", "①②③ ㈱テスト 髙橋 ～"),
    "euc_jp.eml": lambda: euc_jp("EUC-JPの件名", "EUC-JPの本文です。"),
}


if __name__ == "__main__":
    target = CORPUS / "generated"
    target.mkdir(parents=True, exist_ok=True)
    for name, build in GENERATED.items():
        (target / name).write_bytes(build())
        print("wrote", target / name)
