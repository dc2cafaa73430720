"""Customer-initiated escalation (Kaspersky, seeds/002 §3): one level up on the vendor side, refused otherwise."""

from __future__ import annotations

from gateway.core.escalation import (
    REFUSED_CUSTOMER_SIDE,
    REFUSED_TOP,
    asks_to_escalate,
    escalate,
    escalate_address_used,
)
from gateway.core.model import IncidentState

LADDER = ("tam", "support-lead", "account-manager")


def state(side: str = "vendor", level: int = 0) -> IncidentState:
    return IncidentState(1, 1, 1, "acme", "msa-enterprise", "VPN down", "open", side, 2, escalation_level=level)


def test_escalate_is_recognised_in_english_japanese_and_full_width() -> None:
    assert asks_to_escalate("", "#escalate\nPlease hurry.")
    assert asks_to_escalate("", "エスカレーションをお願いします。")
    assert asks_to_escalate("", "＃ｅｓｃａｌａｔｅ")
    assert asks_to_escalate("Re: [INC-000001] #escalate", "")
    assert not asks_to_escalate("", "We do not want to escalate this yet.")


def test_each_request_on_the_vendor_side_moves_one_level_up_the_ladder() -> None:
    _, first = escalate(state(), LADDER, "carol@acme.test")
    _, second = escalate(state(level=1), LADDER, "carol@acme.test")
    assert (first.accepted, first.rung, first.level) == (True, "tam", 1)
    assert (second.rung, second.level) == ("support-lead", 2)


def test_a_request_on_the_customer_side_is_refused_and_recorded() -> None:
    events, outcome = escalate(state(side="customer"), LADDER, "carol@acme.test")
    assert not outcome.accepted and outcome.reason == REFUSED_CUSTOMER_SIDE
    assert events[0].type == "escalation-refused"


def test_the_top_of_the_ladder_cannot_be_passed() -> None:
    _, outcome = escalate(state(level=3), LADDER, "carol@acme.test")
    assert not outcome.accepted and outcome.reason == REFUSED_TOP and outcome.rung == "account-manager"


def test_writing_to_the_dedicated_escalate_address_asks_for_an_escalation() -> None:
    own = frozenset({"support@support.example.test"})
    assert escalate_address_used(("Support+Escalate@support.example.test",), own)
    assert not escalate_address_used(("support+escalate@elsewhere.test",), own)
    assert not escalate_address_used(("support+INC-000001@support.example.test",), own)
