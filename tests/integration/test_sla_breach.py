"""Issue 14, part A: a missed response target reaches people at the due minute, and a late answer is recorded."""

from __future__ import annotations

from sqlalchemy import select

from store.outbox import OutboxMessage
from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    ENGINEER,
    MANAGER,
    QUEUE,
    TAM,
    at,
    customer,
    engineer,
    events,
    incident,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline


def test_a_missed_response_target_tells_the_queue_once_at_the_due_minute(pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")  # Tuesday 10:00 JST, enhanced, severity 3: 24 bh
    at(pipeline, jst(11, 26, 16, 59))
    assert not sent(pipeline, "breach")
    at(pipeline, jst(11, 26, 17))
    [notice] = sent(pipeline, "breach")
    assert [a.addr_spec for a in notice["To"].addresses] == [QUEUE]
    assert "Response target missed" in str(notice["Subject"])
    assert "2026-11-26 17:00 JST" in notice.get_content() and "24 business hours" in notice.get_content()
    at(pipeline, jst(11, 26, 17, 1))
    at(pipeline, jst(11, 27, 9))
    assert len(sent(pipeline, "breach")) == 1
    with pipeline.sessions() as session:
        keys = [k for k in session.scalars(select(OutboxMessage.dedupe_key)) if k and "response" in k]
    assert keys == ["INC-000001:response::0"]


def test_a_missed_severity_1_response_also_tells_the_first_escalation_rung(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")  # tam plan: enhanced-plus, sev 1 within 1 bh
    engineer(pipeline, notification, "#severity 1 total outage\n#investigating\n")  # no answer yet
    at(pipeline, jst(11, 24, 10, 59))
    assert not sent(pipeline, "breach")
    at(pipeline, jst(11, 24, 11))
    queue_copy, others = sent(pipeline, "breach")  # the engineer mailbox gets its own copy (its token)
    assert [a.addr_spec for a in queue_copy["To"].addresses] == [QUEUE]
    assert {a.addr_spec for a in others["To"].addresses} == {MANAGER, TAM}  # the rung, and the TAM's copy
    assert "support-manager" in others.get_content()


def test_an_assigned_incident_that_misses_its_target_tells_the_engineer_not_the_queue(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "carol@acme.test")  # msa-enterprise sev 3: 6 business hours
    engineer(pipeline, notification, "#assign yamada\n#investigating\n")  # only an answer meets it
    at(pipeline, jst(11, 24, 15, 59))  # opened Tue 10:00; Kaspersky 10:00-18:00: 6 bh → 16:00
    assert not sent(pipeline, "breach")
    at(pipeline, jst(11, 24, 16))
    [notice] = sent(pipeline, "breach")
    assert [a.addr_spec for a in notice["To"].addresses] == [ENGINEER]


def test_an_answer_after_the_target_is_recorded_as_late_with_met_at_and_late_by(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "alice@example.test")
    at(pipeline, jst(11, 26, 17))
    pipeline.clock.set(jst(11, 26, 17, 30))  # type: ignore[attr-defined]
    engineer(pipeline, notification, "The fix is to restart the agent.\n")
    breach, late = events(pipeline, "response")
    assert breach.data["met_at"] is None and breach.data["breached"] is True
    assert late.data["met_at"] == jst(11, 26, 17, 30).isoformat()
    assert late.data["late_by"] == 30 * 60 and late.at == jst(11, 26, 17, 30)
    engineer(pipeline, notification, "One more thing.\n")
    assert len(events(pipeline, "response")) == 2


def test_a_customer_asking_to_raise_the_severity_is_recorded_told_and_acknowledged_but_not_applied(
        pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")  # demo: Japanese customer, severity 3
    customer(pipeline, "alice@example.test", "状況が悪化しました。\n深刻度：1 に上げてください\n")
    assert incident(pipeline).severity == 3  # support decides (Sophos §5.2)
    [review] = events(pipeline, "severity-review-requested")
    assert (review.data["asked"], review.data["from"], review.data["direction"]) == (1, 3, "raise")
    [notice] = sent(pipeline, "severity-review")
    assert [a.addr_spec for a in notice["To"].addresses] == [QUEUE]
    assert "SEVERITY REVIEW REQUESTED: 3 → 1" in str(notice["Subject"])
    assert "状況が悪化しました" in notice.get_content()
    [ack] = sent(pipeline, "severity-review-ack")
    assert [a.addr_spec for a in ack["To"].addresses] == ["alice@example.test"]
    assert "深刻度の見直し" in str(ack["Subject"]) and "お電話" in ack.get_content()


def test_an_english_severity_label_in_a_reply_asks_for_that_level(pipeline: Pipeline) -> None:
    open_incident(pipeline, "carol@acme.test")
    customer(pipeline, "carol@acme.test", "It got worse overnight.\nSeverity: 2\n")
    [review] = events(pipeline, "severity-review-requested")
    assert review.data["asked"] == 2
    [ack] = sent(pipeline, "severity-review-ack")
    assert "review the severity" in ack.get_content()


def test_an_ordinary_reply_asks_for_no_severity_review(pipeline: Pipeline) -> None:
    open_incident(pipeline, "carol@acme.test")
    customer(pipeline, "carol@acme.test", "Here are the log files you asked for.\n")
    assert not events(pipeline, "severity-review-requested") and not sent(pipeline, "severity-review")


def test_incidents_show_lists_the_breach_notice_the_late_answer_and_the_review_request(pipeline: Pipeline) -> None:
    from gateway.ops.views import show_incident

    notification = open_incident(pipeline, "alice@example.test")
    at(pipeline, jst(11, 26, 17))
    pipeline.clock.set(jst(11, 26, 17, 30))  # type: ignore[attr-defined]
    engineer(pipeline, notification, "The fix is to restart the agent.\n")
    customer(pipeline, "alice@example.test", "まだ直りません。重要度を2に上げてください。\n")
    detail = show_incident(pipeline.sessions, "INC-000001")
    assert detail is not None
    kinds = [(e["type"], e["data"].get("kind")) for e in detail["events"]]
    assert ("notice", "breach") in kinds and ("severity-review-requested", None) in kinds
    late = [e["data"] for e in detail["events"] if e["type"] == "response" and e["data"].get("met_at")]
    assert late[0]["late_by"] == 1800
