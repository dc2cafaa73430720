"""Rate limits on automatic mail in process, on SQLite and PostgreSQL (issue 10 item 9).

Over a limit the mail is still stored and processed; only the automatic letter
to the customer side is not written, the engineers' notice says so and the
incident records it.
"""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.ops.views import format_incident, show_incident
from store.automatic_letters import AutomaticLetter
from store.incidents import Incident, IncidentEvent
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
SUPPRESSED = "No acknowledgement was sent to the customer: rate limit 10 in 10 min for alice@example.test."


def _pipeline(make_settings, sessions, clock: FixedClock, **limits: object) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
                             limits=limits)
    return Pipeline(build_app(settings), sessions, clock)


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    return _pipeline(make_settings, sessions, clock)


def _send(pipeline: Pipeline, count: int, sender: str = "alice@example.test", start: int = 0) -> None:
    for n in range(start, start + count):
        pipeline.accept(customer_mail(sender=sender, subject=f"Problem {n}"), mail_from=sender)
    pipeline.run_until_idle()


def _kinds(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(p) for p in pipeline.sent_files() if p.name.endswith(f"-{kind}.eml") or f"-{kind}-" in p.name]


def _outbox(pipeline: Pipeline, kind: str) -> list[str]:
    return [row.rcpt_tos[0] for row in pipeline.outbox() if row.kind == kind]


def _events(pipeline: Pipeline, type_: str) -> list[tuple[int, dict[str, object]]]:
    with pipeline.sessions() as session:
        return [(number, data) for number, data in session.execute(
            select(Incident.number, IncidentEvent.data).join(Incident).where(IncidentEvent.type == type_)
            .order_by(Incident.number))]


def test_forty_mails_in_one_batch_open_forty_incidents_but_only_ten_acks_go_out(pipeline: Pipeline) -> None:
    _send(pipeline, 40)
    assert len(pipeline.incidents()) == 40
    assert _outbox(pipeline, codes.KIND_ACK) == ["alice@example.test"] * 10
    notices = sorted(_kinds(pipeline, "notify"), key=lambda m: str(m["Subject"]))
    assert len(notices) == 40  # the engineers' queue is the vendor's own address: never limited
    assert [SUPPRESSED in m.get_content() for m in notices] == [False] * 10 + [True] * 30
    not_sent = _events(pipeline, codes.EVENT_NOT_SENT)
    assert [number for number, _ in not_sent] == list(range(11, 41))
    assert not_sent[0][1] == {"kind": "ack", "to": ["alice@example.test"], "reason": "rate-limited",
                              "limit": "10 in 10 min for alice@example.test"}


def test_incidents_show_tells_that_the_ack_was_not_sent_and_why(pipeline: Pipeline) -> None:
    _send(pipeline, 11)
    detail = show_incident(pipeline.sessions, "INC-000011")
    assert detail is not None and detail["outbox"] == [
        o for o in detail["outbox"] if o["kind"] == codes.KIND_NOTIFY]
    assert "not-sent  {'kind': 'ack', 'to': ['alice@example.test'], 'reason': 'rate-limited', " \
           "'limit': '10 in 10 min for alice@example.test'}" in format_incident(detail)


def test_the_limit_counts_across_batches_and_lifts_when_the_window_has_passed(
        pipeline: Pipeline, clock: FixedClock) -> None:
    _send(pipeline, 6)
    clock.advance(timedelta(minutes=5))
    _send(pipeline, 6, start=6)
    assert len(_outbox(pipeline, codes.KIND_ACK)) == 10
    clock.advance(timedelta(minutes=6))  # the first six acks are older than ten minutes now...
    _send(pipeline, 8, start=12)
    assert len(_outbox(pipeline, codes.KIND_ACK)) == 15  # ...but the next window allows 15 in 30 minutes
    assert len(pipeline.incidents()) == 20


def test_one_writer_over_the_limit_does_not_hold_back_anyone_elses_ack(pipeline: Pipeline) -> None:
    _send(pipeline, 12)
    _send(pipeline, 1, sender="bob@example.test")
    assert _outbox(pipeline, codes.KIND_ACK).count("bob@example.test") == 1


def test_an_engineers_answer_is_relayed_even_when_the_writer_is_over_the_limit(pipeline: Pipeline) -> None:
    _send(pipeline, 12)
    notice = next(m for m in _kinds(pipeline, "notify") if "[INC-000012]" in str(m["Subject"]))
    pipeline.accept(reply_to(notice, sender=ENGINEER, body="Please restart the agent."), mail_from=ENGINEER,
                    rcpt_tos=(str(notice["Reply-To"]),))
    pipeline.run_until_idle()
    assert _outbox(pipeline, codes.KIND_RELAY) == ["alice@example.test"]


def test_held_replies_are_limited_per_domain_per_day(make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    pipeline = _pipeline(make_settings, sessions, clock, held_replies_per_domain_per_day=3)
    ids = [pipeline.accept(customer_mail(sender=f"stranger{n}@example.test", subject=f"Hello {n}"),
                           mail_from=f"stranger{n}@example.test").inbound_id for n in range(5)]
    pipeline.run_until_idle()
    assert len(_outbox(pipeline, codes.KIND_HELD)) == 3
    held = [pipeline.inbound(i) for i in ids]
    assert [row.state for row in held] == [codes.QUARANTINED] * 5  # every mail is kept for an operator
    assert held[4].detail == ("held for an operator: unknown-contact (stranger4@example.test); "
                              "no reply sent: rate limit 3 in 24 h for example.test")
    clock.advance(timedelta(days=1, minutes=1))
    _send(pipeline, 1, sender="stranger9@example.test")
    assert len(_outbox(pipeline, codes.KIND_HELD)) == 4


def test_an_incident_gets_at_most_its_hourly_cap_of_automatic_letters(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    pipeline = _pipeline(make_settings, sessions, clock, per_incident_per_hour=2)
    _send(pipeline, 1, sender="carol@acme.test")
    ack = _kinds(pipeline, "ack")[0]
    for _ in range(2):
        pipeline.accept(reply_to(ack, sender="carol@acme.test", body="#escalate\nStill broken.\n"),
                        mail_from="carol@acme.test", rcpt_tos=(str(ack["Reply-To"]),))
        pipeline.run_until_idle()
    assert _outbox(pipeline, codes.KIND_ESCALATE_ACK) == ["carol@acme.test"]
    [(number, data)] = _events(pipeline, codes.EVENT_NOT_SENT)
    assert (number, data["kind"], data["limit"]) == (1, "escalate-ack", "2 in 1 h for INC-000001")
    last_notice = _kinds(pipeline, "notify")[-1].get_content()
    assert "No answer to the escalation was sent to the customer: rate limit 2 in 1 h for INC-000001." in last_notice


def test_with_limits_switched_off_every_mail_is_acknowledged(make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    pipeline = _pipeline(make_settings, sessions, clock, enabled=False)
    _send(pipeline, 15)
    assert len(_outbox(pipeline, codes.KIND_ACK)) == 15
    with pipeline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AutomaticLetter)) == 0


def test_rows_older_than_every_window_are_deleted_as_new_ones_come(pipeline: Pipeline, clock: FixedClock) -> None:
    _send(pipeline, 3)
    clock.advance(timedelta(days=2))
    _send(pipeline, 1, start=3)
    with pipeline.sessions() as session:
        assert session.scalars(select(AutomaticLetter.incident_number)).all() == [4]


def test_replay_shows_where_a_rate_limit_held_an_ack_back(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import json

    from gateway.ops.cli import main
    folder = tmp_path / "mail"
    folder.mkdir()
    for n in range(11):
        (folder / f"{n:03d}.eml").write_bytes(customer_mail(subject=f"Problem {n}", message_id=f"<m{n}@example.test>"))
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\nsupport_addresses = ["support@support.example.test"]\ndata_dir = "{tmp_path}"\n'
                      '[[customers]]\nkey = "demo"\nname = "Demo"\nplan = "enhanced"\ndomains = ["example.test"]\n'
                      'contacts = ["alice@example.test"]\n', encoding="utf-8")
    assert main(["replay", str(folder), "--config", str(config), "--until", "2026-11-21T00:00:00+09:00",
                 "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [held_back] = [line for line in lines if line["event"] == "not-sent"]
    assert (held_back["incident"], held_back["kind"], held_back["limit"]) == (
        "INC-000011", "ack", "10 in 10 min for alice@example.test")
