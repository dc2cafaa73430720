"""Prometheus text for `/metrics`, and the verdict for `/healthz`, from one snapshot (gateway.health).

Counts of stored rows are exported as gauges labelled by outcome (a row's state can change:
quarantined mail retried becomes processed), the IMAP figures that only grow as counters.
Names follow Prometheus' conventions: `support_gateway_` prefix, base units (seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from gateway.intake.imap import POLLS_BY_OUTCOME
from gateway.intake.smtp_data import REPLIES_BY_CODE

PREFIX = "support_gateway_"


@dataclass
class Reading:
    """One look at the daemon: the store's snapshot (None when the store did not answer) and the live parts."""

    snapshot: dict[str, Any] | None
    store_error: str | None
    work_loop_age: float | None  # seconds since the work loop last went round; None before the first round
    listening: bool  # the SMTP (and LMTP) listeners accept connections
    stuck_seconds: float
    problems: list[str] = field(default_factory=list)
    node: str = ""  # [gateway] node: which of several gateways on one database this is (issue 15)

    def __post_init__(self) -> None:
        if self.store_error is not None:
            self.problems.append(f"store: {self.store_error}")
        if self.work_loop_age is None or self.work_loop_age > self.stuck_seconds:
            seen = "never" if self.work_loop_age is None else f"{self.work_loop_age:.0f} s ago"
            self.problems.append(f"work: the work loop (processor, SLA scheduler) last went round {seen}")
        if not self.listening:
            self.problems.append("intake: the SMTP listener is not accepting connections")
        for box in (self.snapshot or {}).get("imap", []):
            if box["stuck"]:
                self.problems.append(f"imap {box['account']} {box['mailbox']}: the poller has not tried for "
                                     "three poll intervals")

    @property
    def healthy(self) -> bool:
        return not self.problems

    def health(self) -> dict[str, Any]:
        """The `/healthz` body: ok or not, each part's word, and what is wrong."""
        snapshot = self.snapshot or {}
        return {"ok": self.healthy, "problems": self.problems,
                "store": self.store_error or "ok", "intake": "ok" if self.listening else "not listening",
                "work_loop_age_seconds": self.work_loop_age,
                "unprocessed": snapshot.get("intake", {}).get("unprocessed"),
                "imap": [{k: box[k] for k in ("account", "mailbox", "stale", "stuck", "consecutive_failures")}
                         for box in snapshot.get("imap", [])]}


def _gauge(name: str, documentation: str, value: float | None = None, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, documentation, value=value, labels=labels)


def _families(reading: Reading) -> Iterator[Metric]:
    yield _gauge("up", "1 when /healthz would say ok", 1.0 if reading.healthy else 0.0)
    yield _gauge("store_up", "1 when the database answered this scrape", 0.0 if reading.store_error else 1.0)
    node = _gauge("node_info", "this daemon's [gateway] node name (always 1)", labels=["node"])
    node.add_metric([reading.node], 1.0)
    yield node
    yield _gauge("work_loop_age_seconds", "seconds since the work loop (processor, SLA scheduler) last went round",
                 reading.work_loop_age if reading.work_loop_age is not None else float("nan"))
    replies = CounterMetricFamily(PREFIX + "smtp_replies", "SMTP and LMTP replies this daemon sent, by reply code",
                                  labels=["code"])
    for code, count in sorted(REPLIES_BY_CODE.items()):
        replies.add_metric([code], count)
    yield replies
    polls = CounterMetricFamily(PREFIX + "imap_polls", "IMAP polls this daemon made, by account and outcome "
                                "(ok, auth-failed: a refused login or no OAuth2 token, error)",
                                labels=["account", "outcome"])
    for (account, outcome), count in sorted(POLLS_BY_OUTCOME.items()):
        polls.add_metric([account, outcome], count)
    yield polls
    snapshot = reading.snapshot
    if snapshot is None:
        return
    intake, outbox, incidents = snapshot["intake"], snapshot["outbox"], snapshot["incidents"]
    mails = _gauge("inbound_messages", "received mail stored, by source, state and reason code",
                   labels=["source", "state", "reason"])
    for row in intake["by_outcome"]:
        mails.add_metric([row["source"], row["state"], row["reason"]], row["count"])
    yield mails
    quarantined = _gauge("quarantined_messages", "mail held for an operator, by reason code", labels=["reason"])
    for reason, count in sorted(intake["quarantined_by_reason"].items()):
        quarantined.add_metric([reason], count)
    yield quarantined
    yield _gauge("work_backlog_messages", "received mail not yet processed", intake["unprocessed"])
    yield _gauge("work_lag_seconds", "age of the oldest received mail not yet processed",
                 intake["oldest_unprocessed_seconds"])
    states = _gauge("outbox_messages", "outgoing mail by outbox state", labels=["state"])
    for state, count in sorted(outbox["by_state"].items()):
        states.add_metric([state], count)
    yield states
    yield _gauge("outbox_due_messages", "queued outgoing mail due now", outbox["due"])
    yield _gauge("outbox_retrying_messages", "queued outgoing mail after a failed attempt", outbox["retrying"])
    yield _gauge("outbox_dead_messages", "outgoing mail given up on (see `support-gateway outbox list --state dead`)",
                 outbox["dead"])
    yield _gauge("outbox_oldest_queued_seconds", "age of the oldest queued outgoing mail",
                 outbox["oldest_queued_seconds"])
    latency = snapshot["send_latency"]
    buckets = [(floatToGoString(bound), float(n)) for bound, n in latency["buckets"]] + [("+Inf", float(latency["count"]))]
    yield HistogramMetricFamily(PREFIX + "send_seconds", "seconds from an outbox row's creation to the relay's 250",
                                buckets=buckets, sum_value=latency["sum_seconds"])
    opened = _gauge("incidents", "incidents by status", labels=["status"])
    for status, count in sorted(incidents["by_status"].items()):
        opened.add_metric([status], count)
    yield opened
    yield CounterMetricFamily(PREFIX + "sla_response_breaches", "first responses the SLA clock saw missed",
                              value=incidents["sla_breaches"])
    yield from _imap_families(snapshot["imap"])


def _imap_families(boxes: list[dict[str, Any]]) -> Iterator[Metric]:
    labels = ["account", "mailbox"]
    age = _gauge("imap_last_success_age_seconds", "seconds since the last successful poll (NaN: never)", labels=labels)
    failures = _gauge("imap_consecutive_failures", "failed polls in a row", labels=labels)
    stale = _gauge("imap_stale", "1 when no poll succeeded for three poll intervals", labels=labels)
    imported = CounterMetricFamily(PREFIX + "imap_imported", "mail imported from the mailbox", labels=labels)
    for box in boxes:
        key = [box["account"], box["mailbox"]]
        seconds = box["last_success_age_seconds"]
        age.add_metric(key, seconds if seconds is not None else float("nan"))
        failures.add_metric(key, box["consecutive_failures"])
        stale.add_metric(key, 1.0 if box["stale"] else 0.0)
        imported.add_metric(key, box["imported"])
    yield from (age, failures, stale, imported)


class _Collector:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading

    def collect(self) -> Iterator[Metric]:
        yield from _families(self.reading)


def exposition(reading: Reading) -> bytes:
    """The Prometheus text format (0.0.4) of one reading."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(reading))  # type: ignore[arg-type]
    return generate_latest(registry)
