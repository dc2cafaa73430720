"""Header field values as stored by the stdlib parser -> readable text.

The compat32 parser keeps each value as the raw field body: folded lines,
RFC 2047 encoded-words, and any 8-bit bytes smuggled in as surrogate
escapes. Here we unfold (RFC 5322 section 2.2.3), read raw 8-bit bytes
(RFC 6532 UTF-8, or the Shift_JIS/EUC-JP/JIS that Japanese mailers still
send), decode encoded-words (RFC 2047, with CP50220-aware ISO-2022-JP) and
pull message-ids out of Message-ID/In-Reply-To/References (RFC 5322 3.6.4).
"""

from __future__ import annotations

import re

from collections.abc import Callable

from parsers.charsets import decode_strictly, decode_text, guess, guess_with_hints
from parsers.defects import Defects
from parsers.transfer import decode_base64, decode_q_word

# RFC 2047 section 2 encoded-word; RFC 2231 section 5 allows "charset*lang".
# Encoded text may not contain "?"; we tolerate spaces inside it (broken
# mailers emit them) since a "?" ends it anyway.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?]*)\?=")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MSG_ID = re.compile(r"<([^<>]*)>")
_SPACE = re.compile(r"\s+")


def _unfold(raw: str) -> str:
    """RFC 5322 section 2.2.3: unfolding removes the line breaks, keeps the WSP."""
    if "\n" in raw or "\r" in raw:
        return raw.replace("\r", "").replace("\n", "")
    return raw


def header_text(raw: str, defects: Defects | None = None, where: str = "header",
                hints: tuple[str, ...] = ()) -> str:
    """Unfold a raw field body and read any raw 8-bit bytes in it.

    `hints` are the charsets the message declares for its parts: raw 8-bit bytes are
    read in them before any guess (parsers.charsets.guess_with_hints), and a raw UTF-7
    header of a UTF-7 message is read as UTF-7.
    """
    raw = _unfold(raw)
    if raw.isascii():
        if "\x1b" in raw:  # raw ISO-2022-JP, no encoded-word around it
            text, used = guess(raw.encode("ascii"))
            if used != "ascii" and defects is not None:
                defects.add(f"raw-header-charset:{where}:{used}")
            return text
        if "+" in raw and any(h.strip().lower().replace("_", "-") == "utf-7" for h in hints):
            return _utf7(raw, defects, where)
        return raw
    try:
        data = raw.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already real text (a Message built from str)
        return raw
    text, used = guess_with_hints(data, hints)
    if used != "utf-8" and defects is not None:  # RFC 6532 allows UTF-8 only
        defects.add(f"raw-header-charset:{where}:{used}")
    return text


def _utf7(raw: str, defects: Defects | None, where: str) -> str:
    text = decode_strictly(raw.encode("ascii"), "utf-7")
    if text is None or text == raw or not text.isprintable():
        return raw
    if defects is not None:
        defects.add(f"raw-header-charset:{where}:utf-7")
    return text


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("utf-8", "surrogateescape")
    if encoding in "Bb":
        return decode_base64(data)
    return decode_q_word(data)


def decode_words(text: str, defects: Defects | None = None, where: str = "header",
                 plain: Callable[[str], str] | None = None) -> str:
    """Decode RFC 2047 encoded-words in already unfolded text.

    Whitespace between adjacent encoded-words is dropped (section 6.2) and
    adjacent words in the same charset are joined before decoding, so a
    character split across two words (or an ISO-2022-JP shift state carried
    over) still decodes. Words glued to other text are decoded too; Japanese
    mailers commonly write "Re:=?ISO-2022-JP?B?...?=".

    `plain` reads the text between and around the words (raw 8-bit bytes still as
    surrogate escapes): each encoded-word is decoded in the charset it declares
    (RFC 2047 §2), raw bytes inside it included, never by a guess over the whole field.
    """
    read = plain or (lambda gap: gap)
    if "=?" not in text:
        return read(text)
    out: list[str] = []
    run: list[tuple[str, bytearray]] = []  # (charset, bytes) of adjacent words
    pos = 0

    def flush() -> None:
        for charset, data in run:
            decoded, defect = decode_text(bytes(data), charset)
            if defect and defects is not None:
                defects.add(f"{defect}@{where}")
            out.append(decoded)
        run.clear()

    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        if not run or gap.strip(" \t"):
            flush()
            out.append(read(gap) if gap else gap)
        charset, encoding, payload = match.groups()
        # Neither decoder raises: base64 skips junk, a2b_qp passes it through.
        data = _word_bytes(encoding, payload)
        if run and run[-1][0].lower() == charset.lower():
            run[-1][1].extend(data)
        else:
            run.append((charset, bytearray(data)))
        pos = match.end()
    flush()
    out.append(read(text[pos:]) if pos < len(text) else "")
    return "".join(out)


def clean(text: str) -> str:
    """Replace control characters (decoded CR/LF/NUL could forge headers downstream)."""
    return _CONTROLS.sub(" ", text) if _CONTROLS.search(text) else text


def decode_header(raw: str, defects: Defects | None = None, where: str = "header",
                  hints: tuple[str, ...] = ()) -> str:
    """Raw field body -> unfolded, decoded, control-free text.

    Encoded-words are decoded first, each in its own charset; only the raw text
    outside them is read by header_text (issue 13: a Latin-1 byte inside an
    ``=?iso-8859-1?Q?...?=`` word was guessed as CP932 with the whole field).
    """
    if raw.isascii() and "=?" not in raw and "\x1b" not in raw and not ("+" in raw and hints):
        text = _unfold(raw)  # most fields: nothing to decode
        return text if text.isprintable() else clean(text)
    unfolded = _unfold(raw)
    if "=?" not in unfolded:
        return clean(header_text(unfolded, defects, where, hints))
    return clean(decode_words(unfolded, defects, where, lambda gap: header_text(gap, defects, where, hints)))


def message_ids(raw: str) -> tuple[str, ...]:
    """Bare ids in order, ignoring junk around "<id>" (comments, phrases, commas)."""
    text = header_text(raw)
    ids = [_SPACE.sub("", found) for found in _MSG_ID.findall(text)]
    if not ids:  # no angle brackets at all: accept bare id-looking tokens
        ids = [tok.strip("<>,;") for tok in _SPACE.split(text) if "@" in tok]
    seen: dict[str, None] = {}
    for msg_id in ids:
        if msg_id and msg_id not in seen:
            seen[msg_id] = None
    return tuple(seen)
