"""The SLA scheduler end to end in process: deadlines become mails at the right minute, once (issue 5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.work.scheduler import tick
from store.incidents import Incident, IncidentEvent
from store.outbox import OutboxMessage
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to

JST = ZoneInfo("Asia/Tokyo")
ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
MANAGER = "manager@vendor.test"
TAM = "tam@vendor.test"


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
        escalation={"support-manager": [MANAGER]},
        customers=[
            {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "ja",
             "domains": ["example.test"], "contacts": ["alice@example.test"]},
            {"key": "acme", "name": "Acme Ltd", "plan": "msa-enterprise", "locale": "en",
             "domains": ["acme.test"], "contacts": ["carol@acme.test"], "tam": TAM},
            {"key": "big", "name": "Big Corp", "plan": "tam", "locale": "en",
             "domains": ["big.test"], "contacts": ["erin@big.test"], "tam": TAM},
        ])
    return Pipeline(build_app(settings), sessions, clock)


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=JST)


def sent(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(path) for path in pipeline.sent_files() if f"-{kind}-INC" in path.name]


def at(pipeline: Pipeline, when: datetime) -> int:
    """Move the clock, run one scheduler tick, send what it queued; return how many incidents were due."""
    assert isinstance(pipeline.clock, FixedClock)
    pipeline.clock.set(when)
    done = tick(pipeline.app, pipeline.sessions, pipeline.clock)
    pipeline.run_until_idle()
    return done


def open_incident(pipeline: Pipeline, sender: str) -> EmailMessage:
    pipeline.accept(customer_mail(sender=sender, body="The backup job fails with E42.\n"), mail_from=sender)
    pipeline.run_until_idle()
    return sent(pipeline, "notify")[-1]


def engineer(pipeline: Pipeline, notification: EmailMessage, body: str) -> None:
    raw = reply_to(notification, sender=ENGINEER, body=body)
    pipeline.accept(raw, mail_from=ENGINEER, rcpt_tos=(str(notification["Reply-To"]),))
    pipeline.run_until_idle()


def customer(pipeline: Pipeline, sender: str, body: str) -> None:
    ack = sent(pipeline, "ack")[0]
    raw = reply_to(ack, sender=sender, body=body)
    pipeline.accept(raw, mail_from=sender, rcpt_tos=(str(ack["Reply-To"]),))
    pipeline.run_until_idle()


def incident(pipeline: Pipeline) -> Incident:
    return pipeline.incidents()[0]


def events(pipeline: Pipeline, type_: str) -> list[IncidentEvent]:
    with pipeline.sessions() as session:
        return list(session.scalars(select(IncidentEvent).where(IncidentEvent.type == type_)
                                    .order_by(IncidentEvent.id)))


def test_the_acknowledgement_shows_the_real_deadline_on_the_business_calendar(pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")  # Tuesday 10:00 JST, enhanced, severity 3: 24 bh
    body = sent(pipeline, "ack")[0].get_content()
    assert "応答期限:         2026-11-26 17:00 JST" in body
    assert incident(pipeline).next_due_at == jst(11, 26, 17)


def test_a_missed_response_is_recorded_at_the_due_minute_once(pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")
    assert at(pipeline, jst(11, 26, 16, 59)) == 0
    assert at(pipeline, jst(11, 26, 17)) == 1
    [breach] = events(pipeline, "response")
    assert breach.data["breached"] is True and breach.data["key"] == "response::0"
    assert at(pipeline, jst(11, 26, 17, 1)) == 0


def test_status_reports_go_to_the_customer_every_two_hours_of_vendor_time_once_each(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")  # tam plan = enhanced-plus targets
    engineer(pipeline, notification, "#severity 1 total outage\n#investigating\n")
    at(pipeline, jst(11, 24, 11, 59))
    assert not sent(pipeline, "status")
    at(pipeline, jst(11, 24, 12))
    [report] = sent(pipeline, "status")
    assert set(report["To"].addresses[i].addr_spec for i in range(2)) == {"erin@big.test", TAM}
    assert "Status report" in str(report["Subject"])
    at(pipeline, jst(11, 24, 12, 30))
    assert len(sent(pipeline, "status")) == 1
    with pipeline.sessions() as session:
        keys = [k for k in session.scalars(select(OutboxMessage.dedupe_key)) if k and ":status:" in k]
    assert keys == ["INC-000001:status:s1.1:1"]  # severity 1 (after 1 change), report 1


def test_the_support_manager_is_told_when_the_escalation_time_is_reached(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#severity 1 total outage\n#investigating\n")
    at(pipeline, jst(11, 24, 12))  # 2 business hours of vendor-side time
    [mail] = sent(pipeline, "escalation")
    assert {a.addr_spec for a in mail["To"].addresses} == {MANAGER, TAM}
    assert "support-manager" in str(mail["Subject"])


def test_a_severity_1_customer_away_for_two_business_hours_is_downgraded_and_told(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#severity 1 total outage\n\nPlease send the log files.\n")
    assert incident(pipeline).side == "customer"
    at(pipeline, jst(11, 24, 11, 59))
    assert incident(pipeline).severity == 1
    at(pipeline, jst(11, 24, 12))
    assert incident(pipeline).severity == 2
    [notice] = sent(pipeline, "downgrade")
    assert "2 business hours" in notice.get_content()
    [change] = [e for e in events(pipeline, "severity") if e.data.get("by") == "clock"]
    assert change.data["to"] == 2 and change.data["reason"] == "@downgrade"


def test_a_month_without_an_answer_sends_three_reminders_then_closes(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "Please send the log files.\n")  # 10:00 JST: customer side
    for day in (1, 8, 15):
        at(pipeline, jst(12, day, 9, 59))
        at(pipeline, jst(12, day, 10))
    assert len(sent(pipeline, "reminder")) == 3
    at(pipeline, jst(12, 24, 9, 59))
    assert incident(pipeline).status == "open"
    at(pipeline, jst(12, 24, 10))
    assert incident(pipeline).status == "closed" and incident(pipeline).next_due_at is None
    [closing] = sent(pipeline, "timeout")
    assert "Closed after one month" in str(closing["Subject"])


def test_a_customer_escalation_on_the_vendor_side_moves_one_level_up_and_is_acknowledged(
        pipeline: Pipeline) -> None:
    open_incident(pipeline, "carol@acme.test")
    customer(pipeline, "carol@acme.test", "#escalate\nThis has taken too long.\n")
    [ack] = sent(pipeline, "escalate-ack")
    assert "accepted" in str(ack["Subject"]) and "Technical Account Manager" in ack.get_content()
    [internal] = sent(pipeline, "escalation")
    assert [a.addr_spec for a in internal["To"].addresses] == [TAM]
    customer(pipeline, "carol@acme.test", "エスカレーションをお願いします。\n")
    assert "head of the support team" in sent(pipeline, "escalate-ack")[-1].get_content()


def test_a_customer_escalation_on_the_customer_side_is_refused_with_an_explanation(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "Please send the log files.\n")
    customer(pipeline, "carol@acme.test", "#escalate\n")
    [ack] = sent(pipeline, "escalate-refused")  # a kind of its own (issue 14)
    assert "not possible now" in str(ack["Subject"]) and "with us" in ack.get_content()
    assert not sent(pipeline, "escalation")
    assert [e.data["reason"] for e in events(pipeline, "escalation-refused")] == ["customer-side"]


def test_finding_the_due_incidents_reads_only_those_due(pipeline: Pipeline) -> None:
    for _ in range(3):
        open_incident(pipeline, "alice@example.test")
    with pipeline.sessions.begin() as session:
        first = session.scalar(select(Incident).order_by(Incident.number))
        assert first is not None
        first.next_due_at = jst(11, 24, 10) - timedelta(minutes=1)
    assert at(pipeline, jst(11, 24, 10)) == 1


def test_an_engineers_escalate_tells_product_development_on_sophos_plans(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    engineer(pipeline, notification, "#escalate needs a fix in the product\n#investigating\n")
    [mail] = sent(pipeline, "escalation")
    assert "product-development" in str(mail["Subject"])
    assert {a.addr_spec for a in mail["To"].addresses} == {TAM}  # nobody configured: only the TAM copy
    assert f"{ENGINEER} escalated it" in mail.get_content()


def test_a_report_cadence_agreed_with_the_customer_replaces_per_agreement(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"queue_address": QUEUE}, customers=[
        {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "en",
         "domains": ["example.test"], "contacts": ["alice@example.test"],
         "status_report": {"every": "8h30m", "clock": "business"}}])
    pipeline = Pipeline(build_app(settings), sessions, clock)
    open_incident(pipeline, "alice@example.test")  # severity 3: reports "as agreed" — every business day
    at(pipeline, jst(11, 25, 9, 59))
    assert not sent(pipeline, "status")
    at(pipeline, jst(11, 25, 10))
    assert len(sent(pipeline, "status")) == 1


def test_an_agreed_report_cadence_must_be_a_positive_duration(make_settings) -> None:  # type: ignore[no-untyped-def]
    from gateway.settings import SettingsError

    with pytest.raises(SettingsError, match="status_report.every"):
        make_settings(customers=[{"key": "demo", "name": "Demo", "plan": "enhanced",
                                  "status_report": {"every": "1mo"}}])


def test_a_mail_to_the_escalate_address_escalates_like_the_command(pipeline: Pipeline) -> None:
    open_incident(pipeline, "carol@acme.test")
    ack = sent(pipeline, "ack")[0]
    address = "support+escalate@support.example.test"
    raw = reply_to(ack, sender="carol@acme.test", body="Please escalate.\n", to=address)
    pipeline.accept(raw, mail_from="carol@acme.test", rcpt_tos=(address,))
    pipeline.run_until_idle()
    [ack_of_escalation] = sent(pipeline, "escalate-ack")
    assert "accepted" in str(ack_of_escalation["Subject"])


def test_on_the_tam_plan_the_tam_is_copied_on_the_ack_and_the_relayed_answer(pipeline: Pipeline) -> None:
    notification = open_incident(pipeline, "erin@big.test")
    [ack] = sent(pipeline, "ack")
    assert TAM in ack["To"] and "erin@big.test" in ack["To"]
    engineer(pipeline, notification, "Please send us the job log.\n")
    [relay] = sent(pipeline, "relay")
    assert TAM in relay["To"] and "erin@big.test" in relay["To"]


def test_on_other_plans_the_tam_is_not_copied_on_the_ack(pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")
    [ack] = sent(pipeline, "ack")
    assert ack["To"] == "alice@example.test"


def test_a_crowd_of_due_incidents_is_handled_a_few_at_a_time_and_every_breach_is_recorded(
        pipeline: Pipeline) -> None:
    """Short transactions (TICK_LIMIT): on SQLite the tick holds the write lock SMTP intake waits for."""
    from gateway.work.scheduler import TICK_LIMIT

    count = TICK_LIMIT + 7
    pipeline.clock.set(jst(11, 24, 10))  # a Tuesday morning: every ack goes out now
    for number in range(count):
        pipeline.accept(customer_mail(body=f"Server {number} stops every night.\n"))
    pipeline.run_until_idle()
    pipeline.clock.set(jst(11, 27, 17))  # every response target (24 business hours) is missed by now
    assert tick(pipeline.app, pipeline.sessions, pipeline.clock) == TICK_LIMIT
    assert tick(pipeline.app, pipeline.sessions, pipeline.clock) == count - TICK_LIMIT
    with pipeline.sessions() as session:
        breaches = session.scalars(select(IncidentEvent).where(IncidentEvent.type == "response")).all()
    assert len({event.incident_id for event in breaches}) == count
