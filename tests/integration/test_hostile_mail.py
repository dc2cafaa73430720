"""Hostile mail through parse → decide → plan → write: an incident, ignored or quarantined with a reason, never a crash.

Bounded for CI (about a minute on a two-core machine); bench/fuzz.py runs the same
strategies for longer.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.settings import settings_from_dict
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from tests.conftest import T0, settings_dict
from tests.support.hostile import hostile_mail
from tests.support.pipeline import Pipeline

OUTCOMES = {codes.PROCESSED, codes.IGNORED, codes.QUARANTINED}
def hostile_pipeline(tmp_path: Path) -> Pipeline:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    data = settings_dict(tmp_path, url, engineers={"addresses": ["engineer@vendor.test"],
                                                   "queue_address": "engineers@vendor.test"})
    app = build_app(settings_from_dict(data))
    engine = make_engine(url)
    upgrade(engine)
    return Pipeline(app, make_sessionmaker(engine), FixedClock(T0))


def outcome(pipeline: Pipeline, raw: bytes) -> tuple[str, str | None, str | None]:
    accepted = pipeline.accept(raw, mail_from="alice@example.test")
    pipeline.run_until_idle()
    row = pipeline.inbound(accepted.inbound_id)
    return row.state, row.reason, row.detail


def test_hostile_mail_ends_as_an_incident_ignored_or_quarantined_with_a_reason_never_processing_failed(
        tmp_path: Path) -> None:
    pipeline = hostile_pipeline(tmp_path)

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(hostile_mail())
    def check(raw: bytes) -> None:
        state, reason, detail = outcome(pipeline, raw)
        assert state in OUTCOMES and reason, (state, reason)
        assert reason != codes.PROCESSING_FAILED, detail

    check()
