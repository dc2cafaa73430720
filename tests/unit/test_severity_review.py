"""A customer's reply asking to review the severity (Sophos 000 §5.4): what counts, at which level (issue 14)."""

from __future__ import annotations

import pytest

from gateway.core.escalation import says_more_than_escalate
from gateway.core.severity_review import asked_review


@pytest.mark.parametrize(("text", "current", "asked", "direction"), [
    ("状況が悪化しました。\n深刻度：1 に上げてください", 3, 1, "raise"),
    ("重要度：２", 3, 2, "raise"),
    ("深刻度を2に上げてほしい", 3, 2, "raise"),
    ("重要度を下げてください", 2, 3, "lower"),
    ("Severity: 1", 3, 1, "raise"),
    ("Please raise the severity to 1.", 3, 1, "raise"),
    ("Could you increase the severity? It is urgent now.", 3, 2, "raise"),
    ("please lower the severity", 2, 3, "lower"),
    ("深刻度の見直しをお願いします", 3, None, "review"),
])
def test_a_reply_that_asks_for_a_severity_review_names_the_level_asked(
        text: str, current: int, asked: int | None, direction: str) -> None:
    review = asked_review(text, current)
    assert review is not None and (review.asked, review.direction) == (asked, direction)


@pytest.mark.parametrize("text", [
    "The fix worked, thanks.",
    "Severity: 3",  # the level it already has: repeating it asks for nothing
    "Severity 1-4 are defined in the guide.",
    "Raise the severity to 3 please.",  # already 3
])
def test_a_reply_that_asks_for_no_other_level_is_no_severity_review(text: str) -> None:
    assert asked_review(text, 3) is None


def test_a_bare_escalate_says_nothing_more_but_a_sentence_beside_it_does() -> None:
    assert not says_more_than_escalate("#escalate\n\n")
    assert not says_more_than_escalate("エスカレーションを希望します。")
    assert says_more_than_escalate("#escalate\nThe logs are attached.")
