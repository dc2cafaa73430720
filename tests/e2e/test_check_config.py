"""`check-config` catches what would break at 02:00 and says where (issue 12), and `db downgrade` asks first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect

from gateway.ops.cli import main
from gateway.settings_sections import BUILTIN_TEMPLATES
from store.db import make_engine
from tests.conftest import settings_dict
from tests.e2e.test_cli import _to_toml


def _config(tmp_path: Path, sqlite_url: str, **overrides: object) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(_to_toml(settings_dict(tmp_path, sqlite_url, **overrides)), encoding="utf-8")
    return path


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--config", str(path), "check-config"])
    return code, capsys.readouterr().err


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def own_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(BUILTIN_TEMPLATES, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def test_a_deleted_template_is_an_error_naming_the_file(
        tmp_path: Path, sqlite_url: str, own_templates: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (own_templates / "ja" / "status.txt.j2").unlink()
    code, err = _check(_config(tmp_path, sqlite_url, gateway={"templates_dir": str(own_templates)}), capsys)
    assert code == 2
    assert f"{own_templates / 'ja' / 'status.txt.j2'}: gateway.templates_dir: missing" in err


def test_a_broken_template_is_an_error_at_its_file_and_line(
        tmp_path: Path, sqlite_url: str, own_templates: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = own_templates / "en" / "status.txt.j2"
    lines = status.read_text().splitlines()
    lines[2] = "{% if incident.side == %}broken{% endif %}"
    status.write_text("\n".join(lines) + "\n")
    code, err = _check(_config(tmp_path, sqlite_url, gateway={"templates_dir": str(own_templates)}), capsys)
    assert code == 2 and f"{status}:3: gateway.templates_dir: " in err, err


def test_a_template_using_a_name_the_gateway_does_not_give_is_an_error(
        tmp_path: Path, sqlite_url: str, own_templates: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ack = own_templates / "ja" / "ack.txt.j2"
    ack.write_text(ack.read_text().replace("{% endblock %}", "{{ incidnet }}{% endblock %}", 1))
    code, err = _check(_config(tmp_path, sqlite_url, gateway={"templates_dir": str(own_templates)}), capsys)
    assert code == 2 and f"{ack}: gateway.templates_dir: uses incidnet, which the gateway does not give" in err


def test_the_built_in_templates_pass(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _check(_config(tmp_path, sqlite_url), capsys)
    assert code == 0 and err == ""


def test_an_escalation_rung_no_plan_uses_is_an_error_at_its_line_with_the_likely_name(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, sqlite_url, escalation={"acount-manager": ["sales@vendor.example.test"]})
    code, err = _check(path, capsys)
    assert code == 2
    assert (f"{path}:{_line(path, 'acount-manager = ')}: escalation.acount-manager: no plan has this rung; "
            "did you mean 'account-manager'?") in err


def test_a_missing_plans_dir_is_an_error(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, sqlite_url, gateway={"plans_dir": str(tmp_path / "no-plans")})
    code, err = _check(path, capsys)
    assert code == 2 and f"{path}:{_line(path, 'plans_dir = ')}: gateway.plans_dir: no such folder" in err


def test_errors_read_file_line_key_message(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = settings_dict(tmp_path, sqlite_url)
    data["customers"][1]["plan"] = "platinum"  # type: ignore[index]
    data["customers"][2]["key"] = "demo"  # type: ignore[index]
    path = tmp_path / "bad.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    code, err = _check(path, capsys)
    assert code == 2
    duplicate = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line == 'key = "demo"'][1]
    assert f"{path}:{duplicate}: customers[2].key: duplicate customer key 'demo'" in err
    assert "Value error" not in err and ": : " not in err
    data["customers"][2]["key"] = "jis"  # type: ignore[index]
    path.write_text(_to_toml(data), encoding="utf-8")
    code, err = _check(path, capsys)
    assert f"{path}:{_line(path, 'platinum')}: customers[1].plan: unknown plan 'platinum'" in err


def test_a_public_listener_without_relay_or_engineers_is_warned_about(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, sqlite_url, smtp={"host": "0.0.0.0", "port": 25})
    code = main(["--config", str(path), "check-config"])
    captured = capsys.readouterr()
    assert code == 0 and "OK" in captured.out
    assert f"{path}: relay: warning: none, yet smtp.host 0.0.0.0 is not loopback" in captured.err
    assert "engineers: warning: none" in captured.err and "smtp.tls_cert: warning" in captured.err
    quiet = _config(tmp_path, sqlite_url, engineers={"queue_address": "queue@vendor.example.test"},
                    relay={"host": "relay.example.test"})
    assert main(["--config", str(quiet), "check-config"]) == 0
    assert "relay: warning" not in capsys.readouterr().err


def test_db_downgrade_needs_a_revision_and_yes(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config(tmp_path, sqlite_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    with pytest.raises(SystemExit) as no_revision:
        main(["--config", str(path), "db", "downgrade"])
    assert no_revision.value.code == 2
    assert main(["--config", str(path), "db", "downgrade", "base"]) == 2
    assert "--yes" in capsys.readouterr().err
    engine = make_engine(sqlite_url)
    try:
        assert "inbound_messages" in inspect(engine).get_table_names()  # nothing was dropped
        assert main(["--config", str(path), "db", "downgrade", "base", "--yes"]) == 0
        assert "inbound_messages" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_check_config_accepts_the_notice_file_limit_and_the_duplicate_window_and_refuses_negatives(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    good = _config(tmp_path, sqlite_url, engineers={"notice_attachments_max_bytes": 0},
                   mail={"duplicate_window_days": 30})
    assert _check(good, capsys)[0] == 0
    bad = _config(tmp_path, sqlite_url, engineers={"notice_attachments_max_bytes": -1},
                  mail={"duplicate_window_days": -2})
    code, error = _check(bad, capsys)
    assert code == 2 and "engineers.notice_attachments_max_bytes" in error and "mail.duplicate_window_days" in error
