"""Decode ISO-2022-JP the way Outlook writes it (Microsoft's CP50220/CP50221).

RFC 1468 ISO-2022-JP only allows JIS X 0208 under ``ESC $ B``. Windows mail
clients put CP932 ("Windows-31J") characters there too: the NEC special
row 13 (① Ⅱ ㈱ ㍉ ...), the NEC-selected IBM extensions in rows 89-92
(髙 﨑 ...), and JIS X 0201 katakana under ``ESC ( I``. Python's
``iso2022_jp*`` codecs reject all of those. We decode with ``iso2022_jp_ext``
(which knows ``ESC ( I`` and JIS X 0212) and map each double-byte cell it
rejects through CP932, which is exactly what CP50220 means by a JIS cell.

Because Windows decodes every JIS cell through CP932, the handful of cells
where Python's JIS table and CP932 disagree (0x2141 WAVE DASH vs FULLWIDTH
TILDE ...) are normalised to the CP932 reading too, so a sender's "10～20"
comes out the same whether or not the text also happens to contain a ①.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

_ERRORS = "support_gateway.cp50220"
_REPLACE_ERRORS = "support_gateway.cp50220-replace"

# Cells where Python's JIS X 0208 table and CP932 give different code points.
_TO_CP932 = {
    "\u301c": "\uff5e",  # 0x2141 WAVE DASH -> FULLWIDTH TILDE
    "\u2016": "\u2225",  # 0x2142 DOUBLE VERTICAL LINE -> PARALLEL TO
    "\u2212": "\uff0d",  # 0x215D MINUS SIGN -> FULLWIDTH HYPHEN-MINUS
    "\u00a2": "\uffe0",  # 0x2171 CENT SIGN -> FULLWIDTH CENT SIGN
    "\u00a3": "\uffe1",  # 0x2172 POUND SIGN -> FULLWIDTH POUND SIGN
    "\u00ac": "\uffe2",  # 0x224C NOT SIGN -> FULLWIDTH NOT SIGN
    "\u2014": "\u2015",  # 0x213D EM DASH -> HORIZONTAL BAR
}
_TO_CP932_RE = re.compile("[" + "".join(_TO_CP932) + "]")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """The arithmetic JIS row/cell -> Shift_JIS conversion (JIS X 0208 Annex 1)."""
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F + (1 if j2 >= 0x60 else 0)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


@cache
def _cp932_cells() -> dict[bytes, str]:
    """Every JIS double-byte cell that CP932 can decode, keyed by its two JIS bytes."""
    table: dict[bytes, str] = {}
    for j1 in range(0x21, 0x7F):
        for j2 in range(0x21, 0x7F):
            try:
                table[bytes((j1, j2))] = _jis_to_sjis(j1, j2).decode("cp932")
            except UnicodeDecodeError:
                continue
    return table


def _cell(exc: UnicodeDecodeError) -> str | None:
    cell = exc.object[exc.start : exc.end]
    if len(cell) != 2:
        return None
    return _cp932_cells().get(bytes(cell))


def _strict_handler(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError):
        char = _cell(exc)
        if char is not None:
            return char, exc.end
    raise exc


def _replace_handler(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError):
        return _cell(exc) or "\ufffd", exc.end
    raise exc


codecs.register_error(_ERRORS, _strict_handler)
codecs.register_error(_REPLACE_ERRORS, _replace_handler)


def decode_iso2022jp(data: bytes, *, replace: bool = False) -> str:
    """Decode ISO-2022-JP text including CP50220 extensions.

    Raises UnicodeDecodeError when the bytes are not ISO-2022-JP at all
    (8-bit bytes, broken escapes) unless ``replace`` is set.
    """
    if b"\x1b(J" in data:
        # JIS-Roman: Japanese mailers mean ASCII by it; Python would turn the
        # backslash of C:\path into a yen sign and "~" into an overline.
        data = data.replace(b"\x1b(J", b"\x1b(B")
    text = data.decode("iso2022_jp_ext", _REPLACE_ERRORS if replace else _ERRORS)
    if _TO_CP932_RE.search(text):
        text = _TO_CP932_RE.sub(lambda m: _TO_CP932[m.group()], text)
    return text
