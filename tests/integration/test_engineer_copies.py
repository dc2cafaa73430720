"""Letters to the vendor side are written one copy per engineer mailbox (issue 10), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.core.tokens import ENGINEER_TOKEN_PATTERN, engineer_reference
from gateway.work.scheduler import tick
from store.incidents import IncidentEvent
from store.outbox import OutboxMessage
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
MANAGER = "manager@vendor.test"
TAM = "tam@vendor.test"  # at the engineers' domain here: an engineer mailbox
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(
        engineers={"domains": ["vendor.test"], "queue_address": QUEUE, "locale": "en"},
        escalation={"support-manager": [MANAGER]},
        customers=[{"key": "big", "name": "Big Corp", "plan": "tam", "locale": "en",
                    "domains": ["big.test"], "contacts": ["erin@big.test"], "tam": TAM}])
    return Pipeline(build_app(settings), sessions, clock)


def sent(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(path) for path in pipeline.sent_files() if f"-{kind}-INC" in path.name]


def test_a_clock_escalation_to_two_engineers_is_one_copy_each_with_its_own_token_and_one_notice_event(
        pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(sender="erin@big.test"), mail_from="erin@big.test")
    pipeline.run_until_idle()
    [notice] = sent(pipeline, "notify")
    pipeline.accept(reply_to(notice, sender=ENGINEER, body="#severity 1 total outage\n#investigating\n"),
                    mail_from=ENGINEER, rcpt_tos=(str(notice["Reply-To"]),))
    pipeline.run_until_idle()
    assert isinstance(pipeline.clock, FixedClock)
    pipeline.clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=JST))  # 2 business hours on the vendor side
    tick(pipeline.app, pipeline.sessions, pipeline.clock)
    tick(pipeline.app, pipeline.sessions, pipeline.clock)  # a second tick sends nothing twice
    pipeline.run_until_idle()
    copies = {str(mail["To"]): mail for mail in sent(pipeline, "escalation")}
    assert set(copies) == {MANAGER, TAM}
    secret = pipeline.app.policy.token_secret
    for address, mail in copies.items():
        assert engineer_reference(secret, 1, address) in str(mail["Reply-To"])
        assert engineer_reference(secret, 1, address) in mail.get_content()
    with pipeline.sessions() as session:
        keys = sorted(k for k in session.scalars(select(OutboxMessage.dedupe_key)) if k and ":escalation:" in k)
        notices = [e for e in session.scalars(select(IncidentEvent).where(IncidentEvent.type == "notice"))
                   if e.data["kind"] == "escalation"]
    assert len(keys) == 2 and keys[1] == f"{keys[0]}/1" and len(notices) == 1
    assert sorted(notices[0].data["to"]) == [MANAGER, TAM]


def test_the_tams_copy_of_customer_mail_carries_the_customer_token_even_when_the_tam_is_an_engineer(
        pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(sender="erin@big.test"), mail_from="erin@big.test")
    pipeline.run_until_idle()
    [ack] = sent(pipeline, "ack")
    assert TAM in str(ack["To"]) and not ENGINEER_TOKEN_PATTERN.search(str(ack["Reply-To"]) + ack.get_content())
