"""A customer's request, in a reply, to review the severity of an open incident. Pure.

support-programs.md §1 (Sophos 000 §5.4): "if things get worse after
submission, the customer may ask for the severity to be reviewed"; §5 (000 §7)
names day 30 for severity 3. Support decides (000 §5.2): the request is
recorded (`severity-review-requested`, with the asked level), the engineers
are told prominently and the customer is told the request was received; the
severity changes only by an engineer's `#severity`. Never applied here.

Read in the reply's own text (quotes removed), NFKC-normalised and lower-cased:

* a stated level — "Severity: 1", "Sev 2", "重要度：1", "深刻度は1" (the label
  forms of gateway.core.severity_cues) — that differs from the current one;
* a verb with the word severity: "raise the severity to 1", "please lower the
  severity", "深刻度：1 に上げてください", "重要度を下げてください", "深刻度の見直し".
  Without a number, "raise" asks for one level more urgent, "lower" for one less.

A stated level equal to the current one is no request (a customer repeating
"Severity: 3" from our acknowledgement asks for nothing).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.core.severity_cues import LABEL_EN, LABEL_JA, label_value

RAISE, LOWER, REVIEW = "raise", "lower", "review"
_SEVERITY_WORD = r"(?:severity|sev|重要度|深刻度)"
_EN_VERB = re.compile(
    r"(?<![a-z])(?P<verb>raise|increase|upgrade|bump|escalate|elevate|lower|reduce|decrease|downgrade|change|"
    r"review|reconsider|adjust)[ \t]+(?:up[ \t]+|down[ \t]+)?(?:the[ \t]+|its[ \t]+|our[ \t]+|this[ \t]+)?"
    r"(?:incident'?s?[ \t]+|ticket'?s?[ \t]+|case'?s?[ \t]+)?(?:severity|sev)(?:[ \t]+level)?"
    r"(?:[ \t]+(?:from[ \t]+[0-9][ \t]+)?to[ \t]+(?:level[ \t]+|sev(?:erity)?[ \t]*)?(?P<level>[0-9]))?")
_JA_VERB = re.compile(
    r"(?:重要度|深刻度)[^\n。]{0,16}?(?P<verb>引き上げ|引上げ|上げ|あげ|引き下げ|下げ|さげ|変更|見直)")
_JA_LEVEL = re.compile(r"(?:重要度|深刻度)[^\n。0-9]{0,6}?(?P<level>[1-4])[ \t]*(?:に|へ)")
_VERBS = {"raise": RAISE, "increase": RAISE, "upgrade": RAISE, "bump": RAISE, "escalate": RAISE,
          "elevate": RAISE, "lower": LOWER, "reduce": LOWER, "decrease": LOWER, "downgrade": LOWER,
          "引き上げ": RAISE, "引上げ": RAISE, "上げ": RAISE, "あげ": RAISE, "引き下げ": LOWER, "下げ": LOWER,
          "さげ": LOWER}


@dataclass(frozen=True)
class SeverityReview:
    """What the customer asked: a level (None: "please review", no level) and its direction."""

    asked: int | None
    current: int
    direction: str  # RAISE, LOWER or REVIEW
    matched: str  # the words that asked, as normalised

    def event_data(self, author: str) -> dict[str, object]:
        return {"asked": self.asked, "from": self.current, "direction": self.direction, "author": author,
                "matched": self.matched}


def asked_review(text: str, current: int) -> SeverityReview | None:
    """The severity review the reply asks for, or None (most replies: checked with one cheap test)."""
    plain = unicodedata.normalize("NFKC", text[:4000]).lower()
    if not re.search(_SEVERITY_WORD, plain):
        return None
    level, direction, matched = None, "", ""
    for pattern in (_EN_VERB, _JA_VERB):
        if (m := pattern.search(plain)) is not None:
            direction, matched = _VERBS.get(m.group("verb"), REVIEW), m.group()
            level = _level(m.groupdict().get("level")) or level
            break
    if level is None:
        for pattern in (_JA_LEVEL, LABEL_JA, LABEL_EN):
            m = pattern.search(plain)
            value = _level(m.group("level") if m and "level" in m.groupdict() else m.group("value") if m else None)
            if value is not None and value != current:
                level, matched = value, matched or m.group()  # type: ignore[union-attr]
                break
    if level is None and direction in (RAISE, LOWER):
        level = max(1, current - 1) if direction == RAISE else min(4, current + 1)
    if level is None and direction != REVIEW or level == current:
        return None
    if level is not None:
        direction = RAISE if level < current else LOWER
    return SeverityReview(level, current, direction, matched.strip())


def _level(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return label_value(text)
    except ValueError:
        return None
