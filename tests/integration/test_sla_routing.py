"""Issue 14, part A: off-hours routing as plan data (Kaspersky 002 §3), at the exact minute."""

from __future__ import annotations

import pytest

from gateway.app import build_app
from gateway.clock import FixedClock
from tests.integration.test_sla_scheduler import (
    ENGINEER,
    QUEUE,
    TAM,
    at,
    customer,
    engineer,
    events,
    jst,
    open_incident,
    sent,
)
from tests.support.pipeline import Pipeline

DUTY = "duty@vendor.test"
LEAD = "lead@vendor.test"


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(
        engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"},
        escalation={"on-duty-manager": [DUTY], "support-lead": [LEAD]},
        customers=[{"key": "acme", "name": "Acme Ltd", "plan": "msa-enterprise", "locale": "en",
                    "domains": ["acme.test"], "contacts": ["carol@acme.test"], "tam": TAM}])
    return Pipeline(build_app(settings), sessions, clock)


def addresses(mails: list) -> set[str]:  # type: ignore[type-arg]
    return {a.addr_spec for m in mails for a in m["To"].addresses}


def test_a_saturday_0230_severity_1_escalation_goes_to_the_on_duty_manager_with_a_copy_to_the_tam(
        pipeline: Pipeline) -> None:
    pipeline.clock.set(jst(11, 28, 2))  # type: ignore[attr-defined]  # Saturday 02:00 JST
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "#severity 1 the whole LAN is down\n#investigating\n")
    at(pipeline, jst(11, 28, 2, 29))
    assert not sent(pipeline, "escalation")
    at(pipeline, jst(11, 28, 2, 30))  # msa-enterprise sev 1: the tam rung after 30 min wall time
    [mail] = sent(pipeline, "escalation")
    assert addresses([mail]) == {DUTY, TAM}
    [notice] = [e for e in events(pipeline, "notice") if e.data["kind"] == "escalation"]
    assert (notice.data["off_hours"], notice.data["on_duty"], notice.data["instead_of"]) == \
        (True, "on-duty-manager", "tam")


def test_a_weekday_escalation_in_tam_hours_goes_to_the_tam_alone(pipeline: Pipeline) -> None:
    pipeline.clock.set(jst(11, 24, 11))  # type: ignore[attr-defined]  # Tuesday 11:00 JST
    notification = open_incident(pipeline, "carol@acme.test")
    engineer(pipeline, notification, "#severity 1 the whole LAN is down\n#investigating\n")
    at(pipeline, jst(11, 24, 11, 30))
    assert addresses(sent(pipeline, "escalation")) == {TAM}
    assert "off_hours" not in [e for e in events(pipeline, "notice") if e.data["kind"] == "escalation"][0].data


def test_a_customer_escalation_at_night_reaches_the_on_duty_manager_and_the_tam(pipeline: Pipeline) -> None:
    pipeline.clock.set(jst(11, 24, 22))  # type: ignore[attr-defined]  # Tuesday 22:00: the TAM is off
    open_incident(pipeline, "carol@acme.test")
    customer(pipeline, "carol@acme.test", "#escalate\nNobody has answered yet.\n")
    assert addresses(sent(pipeline, "escalation")) == {DUTY, TAM}
