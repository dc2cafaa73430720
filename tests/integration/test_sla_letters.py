"""Issue 14, part A: letters that carry their facts — deadlines, phone requests, the rung's clock, words."""

from __future__ import annotations

from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    ENGINEER,
    TAM,
    at,
    customer,
    engineer,
    incident,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline


def test_a_severity_raised_to_1_gives_the_new_response_deadline_and_asks_to_phone(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")  # Tue 10:00 JST, tam plan (enhanced-plus)
    engineer(pipeline, notification, "#severity 1 total outage\n#investigating\n")
    [letter] = sent(pipeline, "severity-changed")
    body = letter.get_content()
    assert "we will respond by 2026-11-24 11:00 JST" in body  # 1 business hour from opening
    assert "please ALSO telephone" in body


def test_a_severity_lowered_to_3_asks_for_no_phone_call(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#severity 4 a question\n#investigating\n")
    body = sent(pipeline, "severity-changed")[0].get_content()
    assert "telephone" not in body and "we will respond by" in body


def test_a_japanese_severity_change_gives_the_deadline_in_japanese(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "alice@example.test")  # demo: enhanced, Japanese
    engineer(pipeline, notification, "#severity 2 業務に大きな影響\n#investigating\n")
    body = sent(pipeline, "severity-changed")[0].get_content()
    assert "2026-11-24 18:00 JST" not in body  # business hours end at 17:30
    assert "深刻度 2 の応答目標は 8営業時間 です。2026-11-25 09:30 JST までにご連絡いたします。" in body
    assert "お電話" in body


def test_a_clock_escalation_letter_counts_vendor_time_on_the_rungs_business_clock(pipeline: Pipeline) -> None:
    pipeline.clock.set(jst(11, 24, 16, 30))  # type: ignore[attr-defined]
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#severity 1 total outage\n#investigating\n")
    at(pipeline, jst(11, 25, 10))  # 16:30-17:30 + 09:00-10:00: 2 business hours (17 h 30 min of wall time)
    [mail] = sent(pipeline, "escalation")
    body = mail.get_content()
    assert "Vendor time:    2 h (business hours)" in body
    assert "17 h" not in body


def test_a_customer_escalation_letter_carries_the_words_the_deadline_and_copies_the_tam_on_level_2(
        pipeline: Pipeline) -> None:
    open_incident(pipeline, "carol@acme.test")
    customer(pipeline, "carol@acme.test", "#escalate\nThe VPN is still down and we lose orders.\n")
    customer(pipeline, "carol@acme.test", "#escalate\nStill nobody has called us.\n")
    first, second = sent(pipeline, "escalation")
    body = second.get_content()
    assert "Still nobody has called us." in body
    assert "Opened:         2026-11-24 10:00 JST" in body and "Response:       2026-11-24 16:00 JST" in body
    assert "support-lead" in str(second["Subject"])
    assert TAM in {a.addr_spec for a in second["To"].addresses}  # the TAM is copied on every rung


def test_a_bare_customer_escalate_on_the_customer_side_leaves_the_incident_with_the_customer(
        pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "Please send the log files.\n")
    customer(pipeline, "carol@acme.test", "#escalate\n")
    assert incident(pipeline).side == "customer"
    assert sent(pipeline, "escalate-refused") and not sent(pipeline, "escalate-ack")


def test_an_engineers_escalate_letter_carries_the_reason(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#escalate needs a fix in the product\n#investigating\n")
    body = sent(pipeline, "escalation")[0].get_content()
    assert f"{ENGINEER} escalated it (#escalate): needs a fix in the product" in body
    assert "Opened:         2026-11-24 10:00 JST" in body
