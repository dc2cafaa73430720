"""Subject lines: strip reply/forward prefixes in any language and width, find `[INC-000123]` tags.

Mail clients prefix a reply's subject in their user's language ("Re:", "AW:",
"SV:", "返信:", "Ｒｅ：") and stack them ("RE: Fwd: Re[2]: ..."). Matching
runs on a width-folded copy (full-width ASCII → ASCII, ideographic space →
space): the fold maps one character to one character, so a position in the
copy is the same position in the original and the original text is kept.
"""

from __future__ import annotations

import re

# U+FF01..U+FF5E are full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Reply and forward prefixes: English (Re, Fw, Fwd), German (AW, WG), Nordic (SV, VS, VB),
# Dutch (Antw, Doorst), French (TR), Spanish/Portuguese (RV, RES, ENC), Polish (Odp, PD),
# Turkish (YNT), Japanese and Chinese clients (返信, 転送, 回复, 转发, 答复, 回覆, 轉寄).
_WORDS = (
    "re", "fwd", "fw", "aw", "wg", "sv", "vs", "vb", "antw", "doorst", "tr", "rv", "res", "enc",
    "odp", "pd", "ynt", "返信", "転送", "回复", "转发", "答复", "回覆", "轉寄",
)
# "Re:", "RE :", "Re[2]:", "Re(2):", "Re^2:", "返信："; the colon is required.
_PREFIX = re.compile(
    r"[ \t]*(?:" + "|".join(_WORDS) + r")[ \t]*(?:\[\d+\]|\(\d+\)|\^\d+)?[ \t]*[:：][ \t]*",
    re.IGNORECASE,
)
_TAG = re.compile(r"[\[【]\s*INC-(\d{1,9})\s*[\]】]", re.IGNORECASE)
_LEADING_TAG = re.compile(r"^[ \t]*[\[【]\s*INC-\d{1,9}\s*[\]】][ \t]*", re.IGNORECASE)


_WIDE = re.compile("[\uff01-\uff5e\u3000]")


def fold_width(text: str) -> str:
    """Full-width ASCII forms and the ideographic space → ASCII, one character for one."""
    if _WIDE.search(text) is None:  # most text has none: skip the per-character translation
        return text
    return text.translate(_FOLD)


# Forward prefixes only (a subset of _WORDS): "Fwd: Returned mail" is a person passing a bounce on.
_FORWARD = re.compile(
    r"[ \t]*(?:fwd|fw|wg|tr|enc|doorst|vb|pd|転送|转发|轉寄)[ \t]*[:：]", re.IGNORECASE)


def is_forward(subject: str) -> bool:
    """The subject starts with a forward prefix, after any reply prefixes ("Re: Fwd: …" too)."""
    folded = fold_width(subject)
    position = 0
    while True:
        if _FORWARD.match(folded, position):
            return True
        match = _PREFIX.match(folded, position)
        if match is None:
            return False
        position = match.end()


def strip_prefixes(subject: str) -> str:
    """The subject without its leading reply/forward prefixes, however many and in any order."""
    position = 0
    folded = fold_width(subject)
    while match := _PREFIX.match(folded, position):
        position = match.end()
    return subject[position:].strip()


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and without leading `[INC-…]` tags among them."""
    text = subject
    while True:
        stripped = strip_prefixes(text)
        folded = fold_width(stripped)
        match = _LEADING_TAG.match(folded)
        if match is None:
            return stripped
        text = stripped[match.end():]


def incident_tags(subject: str) -> tuple[int, ...]:
    """Incident numbers tagged in a subject (`[INC-000123]`, full-width or 【】 too), first first."""
    found: list[int] = []
    for match in _TAG.finditer(fold_width(subject)):
        number = int(match.group(1))
        if number not in found:
            found.append(number)
    return tuple(found)


_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|returned to sender|delivery status notification|delivery (?:has )?fail|"
    r"delivery failure|failure notice|mail delivery (?:failed|failure|warning|subsystem|system)|"
    r"non-?deliver|could not be delivered|mail system error|delivery notification|delayed mail|"
    r"\[bounce\]|could not send message|unzustellbar|nicht zustellbar|non remis|échec de (?:la )?remise|"
    r"メールエラー|エラー通知|配信エラー|送信エラー|配信不能|不達|送信失敗|配送エラー",
    re.IGNORECASE)


def looks_like_bounce_subject(subject: str) -> bool:
    """A bounce's subject in English, German, French or Japanese ("Undeliverable:", "メールエラー通知")."""
    return bool(_BOUNCE_SUBJECT.search(subject))
