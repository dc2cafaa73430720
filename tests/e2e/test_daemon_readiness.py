"""READY means every part is up (issue 9): what systemd, or a test, may rely on once on_ready fires.

on_ready is sd_notify READY=1 in production (gateway.ops.cli cmd_run). These tests look from
the outside at the moment it fires: is there a work process, are the work loops running, are
the IMAP poller threads there; and a work process that cannot start must fail the start.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.daemon import supervisor
from gateway.daemon.serve import Ready, StartupError
from gateway.faults import CRASH_ENV
from gateway.settings import Settings, settings_from_dict
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.dovecot import settings_toml
from tests.support.mails import customer_mail
from tests.support.processes import work_processes
from tests.support.relay_sink import RelaySink

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = "support@support.example.test"


@pytest.fixture
def relayed(make_settings, relay_sink: RelaySink) -> Callable[..., Settings]:  # type: ignore[no-untyped-def]
    def factory(**overrides: object) -> Settings:
        return make_settings(relay={"host": "127.0.0.1", "port": relay_sink.port, "timeout": 5}, **overrides)

    return factory


@pytest.fixture
def daemons() -> Iterator[list[RunningDaemon]]:
    started: list[RunningDaemon] = []
    yield started
    for daemon in started:
        daemon.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def never_runs(*args: object) -> None:
    """A work process that hangs at start (a stuck database connect, say): it never reports running."""
    time.sleep(120)


def test_when_on_ready_fires_the_work_process_is_already_running(
        relayed: Callable[..., Settings], daemons: list[RunningDaemon]) -> None:
    seen: list[list[int]] = []
    daemons.append(RunningDaemon(relayed(), on_ready=lambda _: seen.append(work_processes(os.getpid()))).start())
    [at_ready] = seen
    assert len(at_ready) == 1
    assert work_processes(os.getpid()) == at_ready  # the same one, still there: it had not died at start


def test_in_inline_mode_on_ready_fires_once_the_processor_scheduler_and_sender_loops_have_begun(
        relayed: Callable[..., Settings], daemons: list[RunningDaemon]) -> None:
    states: dict[str, str] = {}

    def look(_: Ready) -> None:  # runs on the daemon's loop, so its tasks are ours to inspect
        for task in asyncio.all_tasks():
            if task.get_name() in ("processor", "scheduler", "sender"):
                states[task.get_name()] = inspect.getcoroutinestate(task.get_coro())

    daemons.append(RunningDaemon(relayed(gateway={"work_process": False}), on_ready=look).start())
    assert states == {name: inspect.CORO_SUSPENDED for name in ("processor", "scheduler", "sender")}
    assert work_processes(os.getpid()) == []


def test_on_ready_fires_with_each_imap_poller_thread_started_even_when_its_server_never_answers(
        relayed: Callable[..., Settings], daemons: list[RunningDaemon], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SG_TEST_SILENT_IMAP_PASSWORD", "secret")
    threads_at_ready: list[str] = []
    with socket.socket() as silent:  # accepts the TCP connection, never sends the IMAP greeting
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        account = {"name": "silent", "host": "127.0.0.1", "port": silent.getsockname()[1], "security": "plain",
                   "user": "support", "password_env": "SG_TEST_SILENT_IMAP_PASSWORD", "timeout": 2}
        started = time.monotonic()
        daemons.append(RunningDaemon(relayed(imap=[account]), on_ready=lambda _: threads_at_ready.extend(
            thread.name for thread in threading.enumerate())).start())
        assert time.monotonic() - started < 10  # not held up by the greeting that never comes
        assert any(name.startswith("imap-silent") for name in threads_at_ready)
        daemons.pop().stop()


def test_a_work_process_that_dies_at_start_fails_the_start_instead_of_reporting_ready(
        relayed: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CRASH_ENV, "work-start")  # SIGKILLed in its loop, before it says it runs
    readies: list[Ready] = []
    daemon = RunningDaemon(relayed(), on_ready=readies.append)
    with pytest.raises(RuntimeError, match="daemon did not start"):
        daemon.start()
    assert isinstance(daemon.error, StartupError)
    assert "work process did not start" in str(daemon.error)
    assert "exited before it was running" in str(daemon.error) and f"{-signal.SIGKILL}" in str(daemon.error)
    assert readies == []
    assert work_processes(os.getpid()) == []


def test_a_work_process_that_never_reports_running_is_killed_and_fails_the_start(
        relayed: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "worker_main", never_runs)
    monkeypatch.setattr(supervisor, "WORKER_START_SECONDS", 2.0)
    daemon = RunningDaemon(relayed())
    with pytest.raises(RuntimeError, match="daemon did not start"):
        daemon.start()
    assert isinstance(daemon.error, StartupError)
    assert "no word from it in 2 s, so it was killed" in str(daemon.error)
    assert work_processes(os.getpid()) == []


def test_a_work_process_that_cannot_open_its_database_fails_the_start_with_its_reason(
        tmp_path: Path, sqlite_url: str) -> None:
    work = supervisor.WorkProcess(settings_from_dict(settings_dict(tmp_path, sqlite_url)))
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    work.settings_data["database"]["url"] = f"sqlite:///{tmp_path / 'a-file' / 'gateway.db'}"  # only it sees this
    reported_running: list[bool] = []
    with pytest.raises(StartupError) as failed:
        asyncio.run(work.run(asyncio.Event(), lambda: reported_running.append(True)))
    assert str(failed.value).startswith("the work process did not start: FileExistsError: ")
    assert "a-file" in str(failed.value) and "(exit code 1)" in str(failed.value)
    assert reported_running == []
    assert work_processes(os.getpid()) == []


def test_a_work_process_that_fails_to_restart_is_tried_again_and_mail_accepted_meanwhile_gets_its_ack(
        relayed: Callable[..., Settings], daemons: list[RunningDaemon], relay_sink: RelaySink,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    daemons.append(daemon := RunningDaemon(relayed()).start())
    [worker] = work_processes(os.getpid())
    monkeypatch.setenv(CRASH_ENV, "work-start")  # from now on every new work process dies at start
    with caplog.at_level(logging.ERROR, logger="gateway.daemon.supervisor"):
        os.kill(worker, signal.SIGKILL)
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:  # the intake does not care
            client.sendmail("alice@example.test", [SUPPORT], customer_mail())
        wait_until(lambda: any("did not start again" in r.getMessage() for r in caplog.records), 20,
                   "a failed restart")
        monkeypatch.delenv(CRASH_ENV)  # the trouble is fixed; the next attempt comes after a longer pause
        assert len(relay_sink.wait_for(1, timeout=30)) == 1
    [failed] = [r.getMessage() for r in caplog.records if "did not start again" in r.getMessage()]
    assert "exited before it was running" in failed and "next attempt in 2 s" in failed
    assert work_processes(os.getpid()) not in ([], [worker])


def test_support_gateway_run_tells_systemd_ready_only_with_the_work_process_running(
        tmp_path: Path, sqlite_url: str) -> None:
    with _notify_socket(tmp_path) as (listener, env), _run(tmp_path, sqlite_url, env) as daemon:
        assert listener.recv(100) == b"READY=1"
        assert len(work_processes(daemon.pid)) == 1
        daemon.send_signal(signal.SIGTERM)
        assert listener.recv(100) == b"STOPPING=1"
        assert daemon.wait(timeout=45) == 0


def test_support_gateway_run_whose_work_process_dies_at_start_exits_1_without_telling_systemd_ready(
        tmp_path: Path, sqlite_url: str) -> None:
    with _notify_socket(tmp_path) as (listener, env), \
            _run(tmp_path, sqlite_url, {**env, CRASH_ENV: "work-start"}) as daemon:
        assert daemon.wait(timeout=60) == 1
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.recv(100)  # no READY=1, nor anything else
    error = (tmp_path / "stderr.log").read_text(encoding="utf-8")
    assert "support-gateway: the work process did not start: it exited before it was running" in error
    assert "Traceback" not in error


@contextmanager
def _notify_socket(folder: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    """A $NOTIFY_SOCKET to listen on, as systemd has for a Type=notify service."""
    path = folder / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(60)
        yield listener, {"NOTIFY_SOCKET": str(path)}


@contextmanager
def _run(folder: Path, db_url: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`support-gateway run` in a subprocess, as systemd starts it; stderr in stderr.log; killed if left running."""
    config = folder / "gateway.toml"
    config.write_text(settings_toml(settings_dict(folder, db_url)), encoding="utf-8")
    environment = {key: value for key, value in os.environ.items() if key != CRASH_ENV}
    with (folder / "stderr.log").open("wb") as stderr, subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, env={**environment, **env}) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
