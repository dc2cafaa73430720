"""The command line as an operator uses it: real subprocesses for `run` and wherever the working
directory, the environment or stderr matter; in-process calls of main() for the rest."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.ops.cli import main
from tests.conftest import settings_dict
from tests.support.mails import customer_mail
from tests.support.pipeline import read_eml

SUPPORT = "support@support.example.test"


def _write_config(tmp_path: Path, db_url: str, **overrides: object) -> Path:
    import tomllib  # noqa: F401 - the file must be valid TOML for tomllib

    data = settings_dict(tmp_path, db_url, **overrides)
    path = tmp_path / "gateway.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    return path


def _to_toml(data: dict[str, object]) -> str:
    lines: list[str] = []
    for section, values in data.items():
        if isinstance(values, list):
            for item in values:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in item.items()]
        else:
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


def test_check_config_names_the_bad_key(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = settings_dict(tmp_path, sqlite_url)
    data["customers"][0]["plan"] = "platinum"  # type: ignore[index]
    path = tmp_path / "bad.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    assert main(["--config", str(path), "check-config"]) == 2
    error = capsys.readouterr().err
    assert "customers[0].plan" in error and "platinum" in error


def test_check_config_refuses_a_ninth_contact(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = settings_dict(tmp_path, sqlite_url)
    data["customers"][0]["contacts"] = [f"c{i}@example.test" for i in range(9)]  # type: ignore[index]
    path = tmp_path / "nine.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    assert main(["--config", str(path), "check-config"]) == 2
    assert "customers[0].contacts" in capsys.readouterr().err


def test_check_config_accepts_the_shipped_example(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    assert main(["--config", str(root / "examples" / "gateway.toml"), "check-config"]) == 0
    assert "OK" in capsys.readouterr().out


def test_inspect_json_reports_parse_and_decision_without_storing(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write_config(tmp_path, sqlite_url)
    mail = tmp_path / "a.eml"
    mail.write_bytes(customer_mail(subject="[Sev1] 重要: サービス停止", message_id="<m1@example.test>"))
    auto = tmp_path / "b.eml"
    auto.write_bytes(customer_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}))
    assert main(["--config", str(config), "inspect", "--json", str(mail), str(auto)]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["message_id"] == "m1@example.test"
    assert (first["severity"], first["requested_severity"], first["auto"]) == (3, 1, None)
    assert first["cues"] and {"from", "to", "subject", "in_reply_to", "references", "body_text",
                              "attachments"} <= first.keys()
    assert second["auto"] == "auto-submitted" and second["severity"] is None
    assert not (tmp_path / "var" / "gateway.db").exists()


def test_run_serves_mail_then_sigterm_drains_and_exits_cleanly(tmp_path: Path, sqlite_url: str) -> None:
    config = _write_config(tmp_path, sqlite_url, smtp={"port": 0})
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert "SMTP on 127.0.0.1:" in banner, banner
            port = int(banner.split("127.0.0.1:")[1].split(";")[0])
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("alice@example.test", [SUPPORT], customer_mail())
            process.send_signal(signal.SIGTERM)  # at once: the drain must still deliver the ack
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
    outbox = sorted((tmp_path / "var" / "outbox").glob("*.eml"))
    assert len(outbox) == 1 and "[INC-000001]" in read_eml(outbox[0])["Subject"]
    assert main(["--config", str(config), "incidents", "show", "INC-000001", "--json"]) == 0


def test_incidents_list_and_show_print_what_the_daemon_did(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.app import build_app
    from gateway.clock import FixedClock
    from gateway.settings import load_settings
    from store.db import make_engine, make_sessionmaker
    from store.migrate import upgrade
    from tests.conftest import T0
    from tests.support.pipeline import Pipeline

    config = _write_config(tmp_path, sqlite_url)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    pipeline = Pipeline(build_app(load_settings(config)), make_sessionmaker(engine), FixedClock(T0))
    pipeline.accept(customer_mail(subject="Disk full on node 3"))
    pipeline.run_until_idle()
    engine.dispose()
    capsys.readouterr()
    assert main(["--config", str(config), "incidents", "list"]) == 0
    listing = capsys.readouterr().out
    assert "INC-000001" in listing and "Disk full on node 3" in listing
    assert main(["--config", str(config), "incidents", "show", "INC-000001"]) == 0
    shown = capsys.readouterr().out
    assert "opened" in shown and "alice@example.test" in shown and "ack" in shown
    assert "response due:" in shown and "next escalation:" in shown and "ack to alice@example.test" in shown
    assert main(["--config", str(config), "incidents", "show", "INC-000001", "--json"]) == 0
    shown_json = json.loads(capsys.readouterr().out)
    assert shown_json["clock"]["side"] == "vendor" and shown_json["clock"]["response_due"]
    assert shown_json["letters"][0]["to"] == ["alice@example.test"]
    assert main(["--config", str(config), "incidents", "show", "INC-000099"]) == 1


def test_run_tells_systemd_ready_and_stopping(tmp_path: Path, sqlite_url: str) -> None:
    import socket as socketlib

    config = _write_config(tmp_path, sqlite_url, smtp={"port": 0})
    notify_path = tmp_path / "notify.sock"
    with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_DGRAM) as listener:
        listener.bind(str(notify_path))
        listener.settimeout(30)
        with subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
            env={**os.environ, "NOTIFY_SOCKET": str(notify_path),
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        ) as process:
            try:
                assert listener.recv(100) == b"READY=1"
                process.send_signal(signal.SIGTERM)
                assert listener.recv(100) == b"STOPPING=1"
                assert process.wait(timeout=20) == 0
            finally:
                if process.poll() is None:
                    process.kill()


def test_incidents_list_on_a_database_without_schema_says_what_to_do(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write_config(tmp_path, sqlite_url)
    assert main(["--config", str(config), "incidents", "list"]) == 3
    error = capsys.readouterr().err
    assert "has no schema yet" in error and "db upgrade" in error


def test_run_on_a_port_already_taken_says_so_in_one_line(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import socket as socketlib

    with socketlib.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = _write_config(tmp_path, sqlite_url, smtp={"port": taken.getsockname()[1]},
                               gateway={"work_process": False})
        assert main(["--config", str(config), "run"]) == 1
    error = capsys.readouterr().err
    assert "cannot listen for SMTP" in error and "smtp.port" in error and "Traceback" not in error


# The CLI forgives (issue 9): real processes, run from a directory that is not the settings file's.

def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, cwd=cwd, timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **(env or {})},
    )


def _elsewhere(tmp_path: Path) -> Path:
    """A working directory with no settings file in it: only the named --config can be used."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_config_and_log_level_work_after_the_subcommand_too(tmp_path: Path, sqlite_url: str) -> None:
    config, cwd = str(_write_config(tmp_path, sqlite_url)), _elsewhere(tmp_path)
    upgraded = _cli("db", "upgrade", "-c", config, cwd=cwd)
    assert upgraded.returncode == 0 and "schema at" in upgraded.stdout, upgraded.stderr
    for args in (["db", "current", "--config", config, "--log-level", "DEBUG"],
                 ["incidents", "list", "--config", config, "--log-level", "debug", "--json"],
                 ["inbound", "list", "--json", "-c", config],
                 ["customers", "list", "--config", config],
                 ["check-config", "--log-level", "warning", "-c", config],
                 ["--log-level", "ERROR", "status", "--config", config]):
        done = _cli(*args, cwd=cwd)
        assert done.returncode == 0, (args, done.stderr)
    assert _cli("db", "current", "--config", config, cwd=cwd).stdout.startswith("schema at 0")


def test_a_config_given_before_the_subcommand_is_not_undone_by_the_subcommand(
        tmp_path: Path, sqlite_url: str) -> None:
    config, cwd = str(_write_config(tmp_path, sqlite_url)), _elsewhere(tmp_path)
    done = _cli("--config", config, "--log-level", "INFO", "db", "upgrade", cwd=cwd)
    assert done.returncode == 0 and "schema at" in done.stdout, done.stderr


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--log-level", "LOUD", "db", "current"], {}, "--log-level: 'LOUD'"),
    (["incidents", "list", "--log-level", "verbose"], {}, "--log-level: 'verbose'"),
    (["db", "current"], {"SUPPORT_GATEWAY_LOG_LEVEL": "chatty"}, "$SUPPORT_GATEWAY_LOG_LEVEL: 'chatty'"),
])
def test_a_wrong_log_level_is_one_line_on_stderr_and_exit_2(
        tmp_path: Path, sqlite_url: str, args: list[str], env: dict[str, str], named: str) -> None:
    config = str(_write_config(tmp_path, sqlite_url))
    done = _cli(*args, "--config", config, cwd=_elsewhere(tmp_path), env=env)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and named in done.stderr and "DEBUG, INFO" in done.stderr, done.stderr


def _relative_config(folder: Path, **gateway: str) -> Path:
    """A settings file whose data_dir (and the SQLite database under it) is relative."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[gateway]", 'support_addresses = ["support@support.example.test"]', 'data_dir = "var"',
             *(f"{key} = {json.dumps(value)}" for key, value in gateway.items()),
             "[smtp]", "port = 0",
             "[[customers]]", 'key = "demo"', 'name = "Demo"', 'plan = "enhanced"', 'domains = ["example.test"]',
             'contacts = ["alice@example.test"]']
    path = folder / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_relative_paths_in_the_settings_are_taken_from_its_folder_not_the_current_one(tmp_path: Path) -> None:
    config, cwd = _relative_config(tmp_path / "etc"), _elsewhere(tmp_path)
    done = _cli("db", "upgrade", "--config", str(config), cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "etc" / "var" / "gateway.db").is_file()
    assert not (cwd / "var").exists()
    checked = _cli("check-config", "--config", "../etc/gateway.toml", cwd=cwd)  # a relative --config too
    assert checked.returncode == 0 and f"sqlite:///{tmp_path / 'etc' / 'var' / 'gateway.db'}" in checked.stdout


def test_a_relative_plans_dir_is_found_beside_the_settings_file(tmp_path: Path) -> None:
    plans = tmp_path / "etc" / "plans"
    plans.mkdir(parents=True)
    (plans / "gold.toml").write_text(
        'name = "gold"\ncalendar = "kaspersky"\n[customer_side]\ntimeout = "1mo"\n'
        + "".join(f'[severity.{n}]\nresponse = {{ within = "{n}h", clock = "wall" }}\n' for n in range(1, 5)),
        encoding="utf-8")
    config = _relative_config(tmp_path / "etc", plans_dir="plans")
    done = _cli("check-config", "--config", str(config), cwd=_elsewhere(tmp_path))
    assert done.returncode == 0 and "gold" in done.stdout, done.stderr


def test_the_daemon_and_its_work_process_keep_mail_beside_the_settings_file(tmp_path: Path) -> None:
    config, cwd = _relative_config(tmp_path / "etc"), _elsewhere(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            banner = process.stdout.readline()
            assert f"outgoing mail to {tmp_path / 'etc' / 'var' / 'outbox'}" in banner, banner
            port = int(banner.split("127.0.0.1:")[1].split(";")[0])
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("alice@example.test", [SUPPORT], customer_mail())
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
            log = process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()
    assert len(list((tmp_path / "etc" / "var" / "outbox").glob("*.eml"))) == 1  # written by the work process
    assert not (cwd / "var").exists()
    assert "alembic" not in log and "Traceback" not in log, log


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_migrations_print_no_alembic_chatter(tmp_path: Path, sqlite_url: str, level: str) -> None:
    config, cwd = str(_write_config(tmp_path, sqlite_url)), _elsewhere(tmp_path)
    for command in (["current"], ["upgrade"], ["current"], ["downgrade", "base", "--yes"]):
        done = _cli("db", *command, "--config", config, "--log-level", level, cwd=cwd)
        assert done.returncode == 0 and "schema at" in done.stdout, done.stderr
        assert "alembic" not in done.stderr and "setup plugin" not in done.stderr, done.stderr


def test_inspect_json_escapes_line_separators_so_each_result_stays_one_line(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: raw U+0085/U+2028/U+2029 inside JSON strings break splitlines() and JSON-lines readers."""
    config = _write_config(tmp_path, sqlite_url)
    mail = tmp_path / "separators.eml"
    mail.write_bytes("From: a@example.test\nSubject: one\u2028two\u0085three\u2029four\n\nbody\n".encode("utf-8"))
    assert main(["--config", str(config), "inspect", "--json", str(mail)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert json.loads(out)["subject"] == "one\u2028two\u0085three\u2029four"
