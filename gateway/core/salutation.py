"""Whether an engineer's text already greets the reader, so a relayed letter greets once. Pure.

Issue 11: a Japanese relay put `ご担当者 様` above the engineer's own `髙橋様`,
two salutations in one letter. Japanese business mail opens with the company
and the person (`株式会社デモ\n髙橋様`); English mail with "Dear …," / "Hello …,".
"""

from __future__ import annotations

import re

from parsers.subject import fold_width

_JA = re.compile(r"(様|さま|殿|御中|各位|さん)\s*[、,。:：]?\s*$")
_EN = re.compile(r"^(dear|hello|hi|good (morning|afternoon|evening))\b", re.IGNORECASE)
_OPENING_LINES = 3  # the company line, the person's line, perhaps a department between


def greets(text: str) -> bool:
    """Whether the text opens with a salutation of its own (Japanese or English)."""
    lines = [fold_width(line).strip() for line in text.split("\n") if line.strip()][:_OPENING_LINES]
    if not lines:
        return False
    if _EN.match(lines[0]):
        return True
    return any(len(line) <= 40 and _JA.search(line) for line in lines)
