"""body_head(): the customer's own text at the top of a body, cheaply. Pure.

Severity cues must come from what the customer wrote now, not from quoted
history or a signature, and must cost bounded work on a 100 kB thread. The full
quote stripping of replies lives in parsers.quotes; this is the quick, bounded
cut the severity rules need on every new mail.
"""

from __future__ import annotations

import re

BODY_WINDOW = 6_000  # raw characters looked at before quote stripping: bounds the work per mail
BODY_HEAD = 2_000  # characters of the customer's own text that are scanned

# Reply separators: the customer's own text ends at the first of these lines.
_CUT_MARKERS = (
    "Original Message", "ORIGINAL MESSAGE", "original message",
    "元のメッセージ", "wrote:", "書きました", "-- ",
)
_CUT_LINE = re.compile(
    r"[ \t]*-{2,}[ \t]*(?:original message|元のメッセージ|返信元のメッセージ)[ \t]*-{2,}"
    r"|[ \t]*on [^\n]{1,300} wrote:[ \t]*\r?$"
    r"|[^\n]{0,300}書きました[:：][ \t]*\r?$"
    r"|-- [ \t]*\r?$",  # the signature delimiter (RFC 3676 §4.3)
    re.IGNORECASE | re.MULTILINE,
)
# Quoted lines (">" or full-width "＞"; RFC 3676 §4.5).
_QUOTED_LINE = re.compile(r"^[ \t\u3000]*[>＞][^\n]*\n?", re.MULTILINE)


def _reply_cut(window: str) -> int:
    """Offset of the first reply separator or signature line, or the window's length."""
    cut = len(window)
    for marker in _CUT_MARKERS:
        i = window.find(marker, 0, cut)
        while i >= 0:
            line_start = window.rfind("\n", 0, i) + 1
            if _CUT_LINE.match(window, line_start):
                cut = line_start
                break
            i = window.find(marker, i + 1, cut)
    return cut


def body_head(body: str) -> str:
    """The customer's own text at the top of the body: before any reply separator, unquoted, bounded."""
    window = body[:BODY_WINDOW]
    window = window[: _reply_cut(window)]
    if ">" in window or "＞" in window:
        window = _QUOTED_LINE.sub("", window)
    return window[:BODY_HEAD]
