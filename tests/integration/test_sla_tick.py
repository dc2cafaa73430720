"""The scheduler writes a tick's rows in one flush, and one broken incident still cannot stop the others."""

from __future__ import annotations

from sqlalchemy import select

from store.incidents import Incident
from tests.integration.test_sla_scheduler import (  # noqa: F401 - the shared fixture
    at,
    jst,
    open_incident,
    pipeline,
    sent,
)
from tests.support.pipeline import Pipeline


def test_a_broken_incident_is_skipped_and_the_others_due_in_the_same_tick_are_still_told(
        pipeline: Pipeline) -> None:
    open_incident(pipeline, "alice@example.test")
    open_incident(pipeline, "alice@example.test")
    with pipeline.sessions.begin() as session:
        broken = session.scalars(select(Incident).where(Incident.number == 1)).one()
        broken.plan = "no-such-plan"  # its clock cannot be read: the tick must go on without it
    assert at(pipeline, jst(11, 26, 17)) == 2
    [notice] = sent(pipeline, "breach")
    assert "INC-000002" in str(notice["Subject"])
