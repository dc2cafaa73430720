"""The periodic review as the customer and the TAM get it (issue 14): right mid-quarter, sent once, by itself."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.cli import main
from gateway.work.directory import add_contact
from gateway.work.periodic import queue_periodic_reports
from gateway.work.review import figures, render
from store.outbox import OutboxMessage
from tests.e2e.test_cli import _write_config
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline
from tests.support.replies import reply_to

JST = ZoneInfo("Asia/Tokyo")
ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
TAM = "tam@vendor.test"
CUSTOMERS = [
    {"key": "acme", "name": "Acme Ltd", "plan": "msa-enterprise", "locale": "en",
     "domains": ["acme.test"], "contacts": ["carol@acme.test"], "tam": TAM},
    {"key": "kojima", "name": "小島商事", "plan": "msa-enterprise", "locale": "ja",
     "domains": ["kojima.test"], "contacts": ["hana@kojima.test"], "tam": TAM},
    {"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "locale": "ja",
     "domains": ["example.test"], "contacts": ["alice@example.test"]},
]
SETTINGS = {"engineers": {"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"}, "customers": CUSTOMERS}


def jst(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JST)


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(build_app(make_settings(**SETTINGS)), sessions, clock)


def open_incident(pipeline: Pipeline, sender: str, subject: str, when: datetime) -> EmailMessage:
    assert isinstance(pipeline.clock, FixedClock)
    pipeline.clock.set(when)
    pipeline.accept(customer_mail(sender=sender, subject=subject, body="The backup job fails with E42.\n"),
                    mail_from=sender)
    pipeline.run_until_idle()
    notify = [p for p in pipeline.sent_files() if "-notify-INC" in p.name][-1]
    return message_from_bytes(notify.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def engineer(pipeline: Pipeline, notification: EmailMessage, body: str, when: datetime) -> None:
    assert isinstance(pipeline.clock, FixedClock)
    pipeline.clock.set(when)
    raw = reply_to(notification, sender=ENGINEER, body=body)
    pipeline.accept(raw, mail_from=ENGINEER, rcpt_tos=(str(notification["Reply-To"]),))
    pipeline.run_until_idle()


def december(pipeline: Pipeline, sender: str = "carol@acme.test") -> None:
    """INC-1 answered and resolved 62 s after opening; INC-2 opened this morning, its response not yet due."""
    first = open_incident(pipeline, sender, "VPN down", jst(11, 24, 10))
    engineer(pipeline, first, "#resolve answered\nPlease renew the certificate.\n", jst(11, 24, 10) + timedelta(seconds=62))
    open_incident(pipeline, sender, "Agent crash", jst(12, 3, 10))


def reviews(pipeline: Pipeline) -> list[OutboxMessage]:
    with pipeline.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "quarterly")
                                    .options(undefer(OutboxMessage.raw)).order_by(OutboxMessage.id)))


def parsed(row: OutboxMessage) -> EmailMessage:
    return message_from_bytes(row.raw, policy=policy.default)  # type: ignore[return-value]


def test_a_review_run_in_december_says_to_date_and_counts_only_what_has_happened(pipeline: Pipeline) -> None:
    december(pipeline)
    with pipeline.sessions() as session:
        customer, report = figures(pipeline.app, session, "acme", "2026Q4", now=jst(12, 3, 10, 30))
        mail = render(pipeline.app, customer, report)
    assert report.opened == {3: 2} and (report.responses_due, report.responses_met) == (1, 1)
    assert report.vendor_time == timedelta(seconds=62) + timedelta(minutes=30)  # not "147 days" into 2027
    assert "(to date)" in mail.subject
    assert "2026Q4: 2026-10-01 – 2026-12-31, figures to date (as of 2026-12-03 10:30 JST" in mail.text
    assert "2027-01-01" not in mail.text and "end of the quarter" not in mail.text.lower()
    assert "Open now: 1" in mail.text and "100.0 % (1 of 1)" in mail.text
    assert "end of the quarter" not in mail.html.lower() and "Open now: 1" in mail.html
    # Severity 3 on msa-enterprise: status reports are "in the periodic report", so it lists them.
    assert "INC-000001  severity 3  resolved  VPN down" in mail.text
    assert "INC-000002  severity 3  open, with us  Agent crash" in mail.text


def test_a_review_of_an_ended_quarter_says_open_at_the_end_of_the_quarter(pipeline: Pipeline) -> None:
    december(pipeline)
    with pipeline.sessions() as session:
        customer, report = figures(pipeline.app, session, "acme", "2026Q4", now=jst(1, 5, 9, year=2027))
        mail = render(pipeline.app, customer, report)
    assert "to date" not in mail.text and "Open at the end of the quarter: 1" in mail.text
    assert (report.responses_due, report.responses_met) == (2, 1)  # INC-2 was never answered: breached


def test_the_japanese_review_is_japanese_throughout(pipeline: Pipeline) -> None:
    december(pipeline, sender="hana@kojima.test")
    with pipeline.sessions() as session:
        customer, report = figures(pipeline.app, session, "kojima", "2026Q4", now=jst(12, 3, 10, 30))
        mail = render(pipeline.app, customer, report)
    assert "INC-000002（深刻度3・弊社対応中）" in mail.text and "INC-000002（深刻度3・弊社対応中）" in mail.html
    assert "2026-12-03 10:30 JST 時点までの集計" in mail.text and "現在対応中のインシデント: 1 件" in mail.text
    assert "vendor" not in mail.html and "customer" not in mail.html.replace("customer.", "")
    assert "件数" in mail.html and "深刻度（1＝緊急 … 4＝低）" in mail.html


def test_report_send_twice_queues_once_to_settings_and_cli_contacts_with_the_tam_in_copy(
        pipeline: Pipeline, tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    december(pipeline)
    with pipeline.sessions.begin() as session:
        add_contact(session, "acme", "dave@acme.test", "Dave", jst(12, 1, 9))  # `customers add-contact`
    config = _write_config(tmp_path, db_url, **SETTINGS)
    command = ["--config", str(config), "report", "acme", "--quarter", "2026Q4", "--send",
               "--at", "2026-12-03T10:30:00+09:00"]
    assert main(command) == 0 and main(command) == 0
    assert "is sent once" in capsys.readouterr().out
    [row] = reviews(pipeline)
    assert row.dedupe_key == "quarterly:acme:2026Q4"
    assert row.rcpt_tos == ["carol@acme.test", "dave@acme.test", TAM]
    mail = parsed(row)
    assert (mail["To"], mail["Cc"]) == ("carol@acme.test, dave@acme.test", TAM)
    message_id = str(mail["Message-ID"])
    assert message_id.startswith("<gw.") and message_id.endswith("@support.example.test>")
    assert re.fullmatch(r"<[!-;=?-~]+@[!-;=?-~]+>", message_id)  # RFC 5322 §3.6.4 msg-id, dot-atoms
    assert row.message_id == message_id.strip("<>")  # the outbox keeps it bare, like every other row


def test_the_scheduler_queues_each_review_once_at_the_first_opening_after_the_quarter(pipeline: Pipeline) -> None:
    december(pipeline)
    clock = pipeline.clock
    assert isinstance(clock, FixedClock)
    clock.set(jst(12, 31, 23, 59))
    assert queue_periodic_reports(pipeline.app, pipeline.sessions, clock) == 0  # the quarter has not ended
    clock.set(jst(1, 1, 0, 0, year=2027))
    assert queue_periodic_reports(pipeline.app, pipeline.sessions, clock) == 0  # New Year's Day: closed
    clock.set(jst(1, 4, 9, 59, year=2027))  # Monday 4 January: the Kaspersky desk opens at 10:00
    assert queue_periodic_reports(pipeline.app, pipeline.sessions, clock) == 0
    clock.set(jst(1, 4, 10, 0, year=2027))
    assert queue_periodic_reports(pipeline.app, pipeline.sessions, clock) == 2  # acme and kojima
    clock.set(jst(1, 4, 11, 0, year=2027))
    assert queue_periodic_reports(pipeline.app, pipeline.sessions, clock) == 0  # once per period
    rows = reviews(pipeline)
    assert sorted(row.dedupe_key or "" for row in rows) == ["quarterly:acme:2026Q4", "quarterly:kojima:2026Q4"]
    acme = parsed(next(r for r in rows if r.dedupe_key == "quarterly:acme:2026Q4"))
    assert acme["Cc"] == TAM and "Open at the end of the quarter: 1" in acme.get_body(("plain",)).get_content()
    with pipeline.sessions() as session:  # the enhanced plan has no periodic_report: nothing for demo
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("%demo%"))) is None
