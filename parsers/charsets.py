"""Turn bytes carrying a MIME charset label into text, never failing.

The label is a hint, not a promise: Japanese mail in particular arrives with
``Shift_JIS`` labels on CP932 text, ``ISO-2022-JP`` labels on CP50220 text,
8-bit text under ``us-ascii`` or no label at all, and labels Python has never
heard of. ``decode_text`` tries the label's family first (supersets included),
then guesses (UTF-8, CP932, EUC-JP), and finally decodes with replacement
characters. Whenever the label did not hold it returns a short defect string.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from parsers.iso2022jp import decode_iso2022jp

JIS = "iso-2022-jp"  # our CP50220-aware decoder, see parsers.iso2022jp

_ASCII = ("ascii",)
_LATIN = ("cp1252", "latin-1")
_FAMILIES: dict[str, tuple[str, ...]] = {}
for _names, _codecs in (
    # RFC 1468 and everything Windows/Unix mailers write for it.
    (
        "iso-2022-jp csiso2022jp iso-2022-jp-1 iso-2022-jp-3 iso-2022-jp-2004 "
        "iso-2022-jp-ext iso-2022-jp-ms cp50220 cp50221 cp50222 jis x-iso-2022-jp",
        (JIS, "iso2022_jp_2004"),
    ),
    ("iso-2022-jp-2 csiso2022jp2", (JIS, "iso2022_jp_2")),
    # A Shift_JIS label on Windows means CP932 (NEC/IBM extensions, ～ ①).
    (
        "shift-jis sjis x-sjis ms-kanji csshiftjis windows-31j cswindows31j "
        "cp932 ms932 x-ms-cp932 x-mac-japanese shift-jis-2004 shiftjis",
        ("cp932", "shift_jis_2004"),
    ),
    (
        "euc-jp eucjp x-euc-jp ujis cseucpkdfmtjapanese euc-jis-2004 eucjp-ms "
        "x-eucjp-open x-euc-jp-ms",
        ("euc_jp", "euc_jis_2004", "euc_jisx0213"),
    ),
    ("us-ascii ascii ansi-x3.4-1968 iso646-us us cp367 csascii 7bit", _ASCII),
    # WHATWG Encoding: Latin-1 labels mean windows-1252.
    ("iso-8859-1 iso8859-1 latin1 latin-1 l1 cp819 ibm819 windows-1252 cp1252", _LATIN),
    ("gb2312 gbk x-gbk cp936 euc-cn csgb2312 chinese", ("gbk", "gb18030")),
    ("big5 big5-hkscs cn-big5 x-x-big5 cp950", ("cp950", "big5hkscs")),
    ("ks-c-5601-1987 ks-c-5601 euc-kr korean cp949 windows-949", ("cp949",)),
    ("iso-8859-8-i", ("iso8859-8",)),
    ("utf-8 utf8 unicode-1-1-utf-8", ("utf-8",)),
):
    for _name in _names.split():
        _FAMILIES[_name] = _codecs

# Codecs that are "text encodings" to Python but must never read mail.
_UNSAFE = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "charmap"}
)
# Codecs whose strict decode cannot yield lone surrogates.
_SURROGATE_FREE = frozenset(
    {JIS, "ascii", "utf-8", "cp932", "shift_jis_2004", "euc_jp", "euc_jis_2004", "latin-1"}
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]")
# Python's cp932 maps the single bytes 0x80, 0xA0, 0xFD-0xFF instead of
# rejecting them, and the user-defined rows 0xF0-0xF9 to the private-use area;
# in a guess either means "this is not Shift_JIS": Latin-1 "Fr\xf6sche" read as
# CP932 is "Fr\ue49bche" (issue 13). No guess may answer with private-use text.
_CP932_STRAYS = re.compile("[\x80\ue000-\uf8ff]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _normalise(label: str) -> str:
    label = label.strip().strip("\"'").lower().replace("_", "-")
    return label.split("*", 1)[0]  # RFC 2231 section 5: charset*language


@lru_cache(maxsize=256)
def candidates(label: str | None) -> tuple[tuple[str, ...], bool]:
    """Codecs to try for a label, and whether the label was understood."""
    if not label:
        return _ASCII, True  # RFC 2045 section 5.2: the default is us-ascii
    name = _normalise(label)
    if name in _FAMILIES:
        return _FAMILIES[name], True
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return (), False
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE:
        return (), False
    return (info.name,), True


def _decode(data: bytes, codec: str) -> str:
    """Strict decode with one codec; raises UnicodeDecodeError (or LookupError)."""
    if codec == JIS:
        return decode_iso2022jp(data)
    text = data.decode(codec)
    if codec not in _SURROGATE_FREE and _SURROGATE.search(text):
        raise UnicodeDecodeError(codec, data, 0, len(data), "lone surrogate")
    return text


def _looks_jis(data: bytes) -> bool:
    """7-bit data carrying ISO-2022-JP double-byte designations (RFC 1468)."""
    return b"\x1b$B" in data or b"\x1b$@" in data or b"\x1b(I" in data


def guess(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset; returns (text, codec used)."""
    if data.isascii():
        if b"\x1b" in data and _looks_jis(data):
            try:
                return _decode(data, JIS), JIS
            except UnicodeDecodeError:
                pass
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        text = None
    if text is not None and _CP932_STRAYS.search(text):
        text = None
    if text is None or _HALFWIDTH_KANA.search(text):
        # EUC-JP read as CP932 comes out as half-width katakana soup; real
        # Shift_JIS text almost never decodes as EUC-JP at all.
        for codec in ("euc_jp", "euc_jis_2004"):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                continue
    if text is not None:
        return text, "cp932"
    # Nothing fits: keep whichever reading loses fewer characters.
    utf8 = data.decode("utf-8", "replace")
    sjis = _CP932_STRAYS.sub("\ufffd", data.decode("cp932", "replace"))
    if sjis.count("\ufffd") < utf8.count("\ufffd"):
        return sjis, "cp932-replace"
    return utf8, "utf-8-replace"


def decode_strictly(data: bytes, label: str) -> str | None:
    """The text if `data` decodes cleanly in the label's family (no private-use output), else None."""
    tried, _known = candidates(label)
    for codec in tried:
        try:
            text = _decode(data, codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _PRIVATE_USE.search(text):
            return text
    return None


def guess_with_hints(data: bytes, hints: tuple[str, ...]) -> tuple[str, str]:
    """Raw 8-bit header bytes: UTF-8 (RFC 6532), then the message's declared charsets, then a guess.

    The charsets a message declares for its parts are the best witness of what its
    mailer wrote in the headers too (a Latin-1 or GB2312 mailer does not switch to
    Shift_JIS for the subject); only when none of them reads the bytes cleanly is the
    Japanese guess tried, and Windows-1252 before replacement characters.
    """
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for hint in hints:
        text = decode_strictly(data, hint)
        if text is not None:
            return text, _normalise(hint)
    text, used = guess(data)
    if used.endswith("-replace") and _cp1252_ok(data):
        return data.decode("cp1252"), "cp1252"
    return text, used


def decode_text(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode ``data`` labelled ``label``; returns (text, defect or None)."""
    tried, known = candidates(label)
    shown = _normalise(label) if label else "none"
    if tried is _ASCII or tried is _LATIN:
        if data.isascii():
            if b"\x1b" in data and _looks_jis(data):
                text, used = guess(data)
                return text, (None if used == "ascii" else f"charset-mismatch:{shown}->{used}")
            return data.decode("ascii"), None
        if tried is _LATIN:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return data.decode("cp1252" if _cp1252_ok(data) else "latin-1"), None
            return text, f"charset-mismatch:{shown}->utf-8"
        text, used = guess(data)
        return text, f"charset-mismatch:{shown}->{used}"
    for codec in tried:
        try:
            return _decode(data, codec), None
        except (UnicodeDecodeError, LookupError):
            continue
    if tried and tried[0] == JIS and not data.isascii():
        text, used = guess(data)  # 8-bit bytes under a JIS label: some other charset
    elif tried and tried[0] == JIS:
        return decode_iso2022jp(data, replace=True), f"charset-undecodable:{shown}"
    else:
        text, used = guess(data)
    if not known:
        return text, f"unknown-charset:{shown}->{used}"
    return text, f"charset-mismatch:{shown}->{used}"


def _cp1252_ok(data: bytes) -> bool:
    # The five bytes windows-1252 leaves undefined; Latin-1 maps them to C1.
    return not any(b in data for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))
