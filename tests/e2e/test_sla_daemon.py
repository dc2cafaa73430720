"""The daemon's SLA scheduler, wired in: inline mode and the work process's loop (issue 5)."""

from __future__ import annotations

import smtplib
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.outbound.sender import RetryPolicy
from gateway.outbound.transports import FolderTransport
from gateway.daemon.worker import WorkLoop
from store.db import make_engine, make_sessionmaker
from store.incidents import IncidentEvent
from tests.conftest import T0
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink

SUPPORT = "support@support.example.test"
JST = ZoneInfo("Asia/Tokyo")


def _response_events(url: str) -> list[IncidentEvent]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(IncidentEvent).where(IncidentEvent.type == "response")))
    finally:
        engine.dispose()


def test_the_inline_daemon_wakes_at_the_response_deadline_and_records_the_breach(
        make_settings, relay_sink: RelaySink) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(gateway={"work_process": False},
                             relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5})
    clock = FixedClock(T0)  # Tuesday 10:00 JST; Acme is on msa-enterprise: severity 3 = 6 business hours
    running = RunningDaemon(settings, clock=clock).start()
    try:
        with smtplib.SMTP("127.0.0.1", running.port, timeout=10) as client:
            client.sendmail("carol@acme.test", [SUPPORT], customer_mail(sender="carol@acme.test"))
        [ack] = relay_sink.wait_for(1, timeout=10)
        assert "Respond by:       2026-11-24 16:00 JST" in ack.message.get_content()
        clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=JST))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _response_events(settings.database_url):
            time.sleep(0.2)
        [breach] = _response_events(settings.database_url)
        assert breach.data["breached"] is True
    finally:
        running.stop()


def test_the_work_loop_runs_a_scheduler_tick_after_processing(
        make_settings, sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings()
    app = build_app(settings)
    clock = FixedClock(T0)
    loop = WorkLoop(app, sessions, sessions, FolderTransport(tmp_path / "out"), RetryPolicy(), clock)
    from tests.support.pipeline import Pipeline

    pipeline = Pipeline(app, sessions, clock)
    pipeline.accept(customer_mail(sender="carol@acme.test"), mail_from="carol@acme.test")
    assert loop.process_step() == 1
    assert loop.schedule_step() == 0
    assert 0 < loop.schedule_idle_seconds() <= 1.0
    clock.advance(timedelta(hours=6))
    assert loop.schedule_step() == 1


def test_the_work_loop_queues_the_quarterly_review_once_when_the_desk_opens_after_the_quarter(
        make_settings, sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from store.outbox import OutboxMessage

    settings = make_settings()  # Acme is on msa-enterprise: periodic_report = "3mo"
    app = build_app(settings)
    clock = FixedClock(T0)
    loop = WorkLoop(app, sessions, sessions, FolderTransport(tmp_path / "out"), RetryPolicy(), clock)
    from tests.support.pipeline import Pipeline

    Pipeline(app, sessions, clock)  # the customers, as the daemon syncs them at start-up
    assert loop.schedule_step() == 0
    clock.set(datetime(2027, 1, 4, 9, 59, tzinfo=JST))  # Monday: the Kaspersky desk opens at 10:00
    assert loop.schedule_step() == 0
    clock.set(datetime(2027, 1, 4, 10, 0, tzinfo=JST))
    assert loop.schedule_step() == 1 and loop.schedule_step() == 0
    with sessions() as session:
        keys = list(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "quarterly")))
    assert keys == ["quarterly:acme:2026Q4"]
