"""The unit file is valid and confined (issue 12): `systemd-analyze verify` and `security --offline`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gateway.daemon.parts import DRAIN_SECONDS
from gateway.daemon.supervisor import WORKER_STOP_SECONDS

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "support-gateway.service"
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
needs_analyze = pytest.mark.skipif(not Path(ANALYZE).exists(),
                                   reason="systemd-analyze is not installed (Debian's systemd package)")


def _settings(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@needs_analyze
def test_systemd_analyze_verify_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart= exists: point it at this venv's command instead of /opt's.
    unit = tmp_path / "support-gateway.service"
    unit.write_text(UNIT.read_text().replace("/opt/support-gateway/bin/support-gateway",
                                             str(Path(sys.prefix) / "bin" / "support-gateway")))
    done = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "support-gateway.service" not in done.stderr, done.stderr


@needs_analyze
def test_the_unit_scores_ok_in_systemd_analyze_security() -> None:
    done = subprocess.run([ANALYZE, "security", "--offline=yes", str(UNIT)], capture_output=True, text=True,
                          timeout=60)
    score = re.search(r"Overall exposure level for support-gateway\.service: ([0-9.]+) (\w+)", done.stdout)
    assert score is not None, done.stdout + done.stderr
    assert float(score[1]) <= 2.5 and score[2] == "OK", score[0]


def test_the_unit_keeps_files_private_waits_for_the_drain_and_loads_its_credentials() -> None:
    unit = _settings(UNIT.read_text())
    assert unit["UMask"] == ["0077"]  # the SQLite database holds customer mail
    stop = float(unit["TimeoutStopSec"][0])
    assert stop >= DRAIN_SECONDS + WORKER_STOP_SECONDS + 5  # SMTP/LMTP drain, then the work process
    assert any(" db upgrade" in command for command in unit["ExecStartPre"])
    credentials = {entry.split(":", 1)[0] for entry in unit["LoadCredential"]}
    example = tomllib.loads((ROOT / "systemd" / "gateway.toml.example").read_text())
    assert {example["relay"]["password_credential"], example["tokens"]["secret_credential"]} <= credentials
    documentation = unit["Documentation"][0]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = pyproject["tool"]["setuptools"]["data-files"]["share/doc/support-gateway"]
    assert documentation == "file:///opt/support-gateway/share/doc/support-gateway/README.md" and "README.md" in shipped
