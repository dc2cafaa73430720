"""Watching it (issue 12): /metrics and /healthz over HTTP from the real daemon, and systemd's watchdog.

The daemon runs with its real work process; the stuck work process is the fault seam's stall
point (gateway.faults: SUPPORT_GATEWAY_STALL_AT=work-after-mail), which hangs the work loop
after it processed one mail, as a deadlocked step would.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.faults import CRASH_ENV, STALL_ENV
from gateway.settings import Settings
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.dovecot import PASSWORD_ENV, Dovecot, dovecot, settings_toml  # noqa: F401 - a fixture
from tests.support.mails import customer_mail
from tests.support.relay_sink import RelaySink

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = "support@support.example.test"
# [gateway] work_stop_seconds here: a stuck work process is killed after this at teardown, not 30 s.
STOP_SECONDS = 2.0


def fetch(address: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def send(port: int, mail: bytes, sender: str = "alice@example.test") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [SUPPORT], mail)


@pytest.fixture
def watched(make_settings, relay_sink: RelaySink) -> Iterator[Callable[..., RunningDaemon]]:  # type: ignore[no-untyped-def]
    started: list[RunningDaemon] = []

    def start(imap: list[dict[str, object]] | None = None, **metrics: object) -> RunningDaemon:
        settings: Settings = make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5},
                                           metrics={"listen": "127.0.0.1:0", **metrics}, imap=imap or [],
                                           gateway={"work_stop_seconds": STOP_SECONDS})
        daemon = RunningDaemon(settings).start(timeout=60)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop(timeout=90)  # a stuck work process is killed after STOP_SECONDS


def metric(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(name + " ") or line == name]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_a_mail_by_outcome_and_the_acknowledgement_it_caused(
        watched: Callable[..., RunningDaemon], relay_sink: RelaySink) -> None:
    daemon = watched()
    assert daemon.ready is not None and daemon.ready.metrics is not None
    send(daemon.port, customer_mail(subject="Disk full on db01"))
    sent = len(relay_sink.wait_for(1, timeout=30))  # the acknowledgement
    wait_until(lambda: f'support_gateway_outbox_messages{{state="sent"}} {sent:.1f}'
               in fetch(daemon.ready.metrics, "/metrics")[1], 20, "the sent outbox rows in /metrics")
    status, text = fetch(daemon.ready.metrics, "/metrics")
    assert status == 200
    assert ('support_gateway_inbound_messages{reason="incident-opened",source="smtp",state="processed"} 1.0'
            in text)
    assert 'support_gateway_incidents{status="open"} 1.0' in text
    assert metric(text, "support_gateway_outbox_dead_messages") == 0.0
    assert metric(text, "support_gateway_work_backlog_messages") == 0.0
    assert metric(text, "support_gateway_work_loop_age_seconds") < 5
    assert metric(text, "support_gateway_up") == 1.0
    assert f'support_gateway_node_info{{node="{daemon.settings.gateway.node}"}} 1.0' in text  # which node (issue 15)
    assert "# TYPE support_gateway_sla_response_breaches_total counter" in text


def test_metrics_show_how_long_the_acknowledgement_waited_for_the_relay_as_a_histogram(
        watched: Callable[..., RunningDaemon], relay_sink: RelaySink) -> None:
    daemon = watched()
    assert daemon.ready is not None and daemon.ready.metrics is not None
    send(daemon.port, customer_mail(subject="Printer on fire"))
    relay_sink.wait_for(1, timeout=30)
    wait_until(lambda: "support_gateway_send_seconds_count 1.0" in fetch(daemon.ready.metrics, "/metrics")[1], 20,
               "the acknowledgement in the send-latency histogram")
    text = fetch(daemon.ready.metrics, "/metrics")[1]
    assert "# TYPE support_gateway_send_seconds histogram" in text
    # Sent at once by a relay on this machine: inside the first bucket, and so inside every larger one.
    assert metric(text, 'support_gateway_send_seconds_bucket{le="1.0"}') == 1.0
    assert metric(text, 'support_gateway_send_seconds_bucket{le="+Inf"}') == 1.0
    assert 0.0 <= metric(text, "support_gateway_send_seconds_sum") < 1.0


def test_metrics_count_imap_polls_by_account_and_outcome(
        watched: Callable[..., RunningDaemon], dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    good, locked_out = dovecot.add_user(), dovecot.add_user()
    monkeypatch.setenv(PASSWORD_ENV, good.password)
    monkeypatch.setenv("SG_TEST_WRONG_PASSWORD", "not-the-password")
    daemon = watched(imap=[dovecot.account(good, name=f"good-{good.name}"),
                           dovecot.account(locked_out, name=f"bad-{locked_out.name}",
                                           password_env="SG_TEST_WRONG_PASSWORD")])
    assert daemon.ready is not None and daemon.ready.metrics is not None

    def polls(account: str, outcome: str) -> float:
        lines = [line for line in fetch(daemon.ready.metrics, "/metrics")[1].splitlines()  # type: ignore[union-attr]
                 if line.startswith(f'support_gateway_imap_polls_total{{account="{account}",outcome="{outcome}"}} ')]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    wait_until(lambda: polls(f"good-{good.name}", "ok") >= 2, 20, "two good polls in /metrics")
    wait_until(lambda: polls(f"bad-{locked_out.name}", "auth-failed") == 1, 20, "the refused login in /metrics")
    assert polls(f"bad-{locked_out.name}", "ok") == 0.0
    assert "# TYPE support_gateway_imap_polls_total counter" in fetch(daemon.ready.metrics, "/metrics")[1]


def test_metrics_count_smtp_replies_by_code(watched: Callable[..., RunningDaemon]) -> None:
    daemon = watched()
    assert daemon.ready is not None and daemon.ready.metrics is not None

    def replies(code: str) -> float:
        text = fetch(daemon.ready.metrics, "/metrics")[1]  # type: ignore[union-attr]
        lines = [line for line in text.splitlines() if line.startswith(f'support_gateway_smtp_replies_total{{code="{code}"}}')]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = {code: replies(code) for code in ("250", "550", "354")}
    send(daemon.port, customer_mail(subject="Disk full on db01"))
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
        client.ehlo("client.example.test")
        client.mail("alice@example.test")
        assert client.rcpt("someone@elsewhere.test")[0] == 550  # no relaying

    assert replies("550") - before["550"] == 1
    assert replies("354") - before["354"] == 1
    # EHLO, MAIL, RCPT, DATA's 250 for the mail; EHLO and MAIL for the refused one; EHLO's 250- lines not counted
    assert replies("250") - before["250"] == 6


def test_healthz_says_ok_while_every_part_runs(watched: Callable[..., RunningDaemon]) -> None:
    daemon = watched()
    assert daemon.ready is not None and daemon.ready.metrics is not None
    status, body = fetch(daemon.ready.metrics, "/healthz")
    assert status == 200, body
    health = json.loads(body)
    assert health["ok"] is True and health["store"] == "ok" and health["intake"] == "ok"
    assert fetch(daemon.ready.metrics, "/nothing-here")[0] == 404


def test_healthz_says_503_and_why_once_the_work_process_is_stuck(
        watched: Callable[..., RunningDaemon], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STALL_ENV, "work-after-mail")  # inherited by the work process the daemon spawns
    daemon = watched(stuck_seconds=2)
    assert daemon.ready is not None and daemon.ready.metrics is not None
    wait_until(lambda: fetch(daemon.ready.metrics, "/healthz")[0] == 200, 10, "/healthz to say 200 first")
    send(daemon.port, customer_mail())
    wait_until(lambda: fetch(daemon.ready.metrics, "/healthz")[0] == 503, 30, "/healthz to say 503")
    health = json.loads(fetch(daemon.ready.metrics, "/healthz")[1])
    assert health["ok"] is False
    assert any(problem.startswith("work: the work loop") for problem in health["problems"])
    assert metric(fetch(daemon.ready.metrics, "/metrics")[1], "support_gateway_up") == 0.0
    monkeypatch.delenv(STALL_ENV)


def test_a_metrics_port_already_taken_fails_the_start_naming_the_setting(make_settings) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = RunningDaemon(make_settings(metrics={"listen": f"127.0.0.1:{port}"}))
        with pytest.raises(RuntimeError, match=r"cannot listen for metrics .*\(metrics\.listen\)"):
            daemon.start(timeout=60)


# -- systemd's watchdog: WATCHDOG=1 only while the work loop goes round ----------------------------


def _datagrams(listener: socket.socket, seconds: float) -> list[str]:
    received, deadline = [], time.monotonic() + seconds
    while True:  # until a read times out: at the deadline, what is queued is still read
        listener.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            received.append(listener.recv(4096).decode())
        except TimeoutError:
            break
    return received


def _wait_for(listener: socket.socket, wanted: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listener.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if listener.recv(4096).decode() == wanted:
                return
        except TimeoutError:
            break
    raise AssertionError(f"no {wanted} in {seconds} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_watchdog_is_fed_while_the_work_loop_runs_and_starves_when_it_is_stuck(
        tmp_path: Path, db_url: str, relay_sink: RelaySink) -> None:
    port = _free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(settings_toml(settings_dict(
        tmp_path, db_url, smtp={"host": "127.0.0.1", "port": port}, gateway={"work_stop_seconds": STOP_SECONDS},
        relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5})), encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key not in (CRASH_ENV, STALL_ENV)}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify.sock"))
        env = {**environment, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1500000",
               STALL_ENV: "work-after-mail"}
        with (tmp_path / "stderr.log").open("wb") as stderr, subprocess.Popen(
                [sys.executable, "-m", "gateway", "--config", str(config), "run"],
                stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, env=env) as daemon:
            try:
                _wait_for(listener, "READY=1", 60)
                fed = _datagrams(listener, 3)
                assert fed.count("WATCHDOG=1") >= 3  # every 0.5 s while the work loop goes round
                send(port, customer_mail())
                time.sleep(3)  # the work loop is stuck from the moment it processed the mail
                _datagrams(listener, 0.01)  # what was sent before it got stuck
                starved = _datagrams(listener, 3)
                assert "WATCHDOG=1" not in starved, starved
            finally:
                daemon.terminate()
                daemon.wait(60)
    log = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert "no watchdog ping" in log
    assert f"did not drain in {STOP_SECONDS:.0f} s; killed" in log  # the stop did not wait the default 30 s
