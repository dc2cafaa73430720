"""The wheel works anywhere (issue 12): built from the shipped files, installed in a fresh venv
outside the checkout, it finds its templates, plans and migrations as package data, accepts the
production example and answers a mail."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.install import build_wheel, copy_sources, venv_with
from tests.support.mails import customer_mail
from tests.support.pipeline import read_eml

SUPPORT = "support@support.example.test"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv outside the checkout with only the wheel's own files of this project."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(copy_sources(work / "src"), work / "dist")
    shutil.rmtree(work / "src")  # nothing of the sources is left to import from
    yield venv_with(wheel, work / "venv")


def _run(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SUPPORT_GATEWAY_CONFIG")}
    return subprocess.run([str(venv / "bin" / "support-gateway"), *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(installed / "bin" / "python"), "-c",
                           "import gateway, gateway.templates, gateway.settings_sections as s; "
                           "print(gateway.__file__); print(s.BUILTIN_TEMPLATES)"],
                          cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    module, templates = done.stdout.splitlines()
    assert module.startswith(str(installed)) and templates.startswith(str(installed)), done.stdout
    assert (Path(templates) / "ja" / "status.txt.j2").is_file()
    assert (installed / "share" / "doc" / "support-gateway" / "support-gateway.service").is_file()


def test_check_config_accepts_the_installed_production_example_with_its_credentials(
        installed: Path, tmp_path: Path) -> None:
    etc = tmp_path / "etc" / "support-gateway"
    etc.mkdir(parents=True)
    shutil.copy(installed / "share" / "doc" / "support-gateway" / "gateway.toml.example", etc / "gateway.toml")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "relay").write_text("relay password\n")
    (credentials / "token").write_text("0123456789abcdef0123456789abcdef\n")
    done = _run(installed, "--config", str(etc / "gateway.toml"), "check-config", cwd=tmp_path,
                env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr
    assert done.stderr == ""  # no warnings: relay, engineers, loopback SMTP
    missing = _run(installed, "--config", str(etc / "gateway.toml"), "check-config", cwd=tmp_path)
    assert missing.returncode == 2 and "CREDENTIALS_DIRECTORY" in missing.stderr


def test_the_installed_daemon_answers_a_mail(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[gateway]\nsupport_addresses = ["support@support.example.test"]\ndata_dir = "var"\n'
        '[smtp]\nport = 0\n[database]\nsqlite_synchronous = "NORMAL"\n'
        '[[customers]]\nkey = "demo"\nname = "Demo"\nplan = "enhanced"\ndomains = ["example.test"]\n'
        'contacts = ["alice@example.test"]\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with subprocess.Popen([str(installed / "bin" / "support-gateway"), "--config", str(config), "run"],
                          cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as daemon:
        try:
            assert daemon.stdout is not None
            banner = daemon.stdout.readline()
            assert "SMTP on 127.0.0.1:" in banner, banner + (daemon.stderr.read() if daemon.stderr else "")
            port = int(banner.split("127.0.0.1:")[1].split(";")[0])
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("alice@example.test", [SUPPORT], customer_mail(subject="Nightly crash"))
            outbox = tmp_path / "var" / "outbox"
            deadline = time.monotonic() + 30
            while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
                time.sleep(0.05)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
    [ack] = list(outbox.glob("*.eml"))
    assert "[INC-000001]" in read_eml(ack)["Subject"]
    assert oct((tmp_path / "var" / "gateway.db").stat().st_mode & 0o777) == "0o600"  # customer mail
