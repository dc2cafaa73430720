"""Paths in the settings file mean the same thing from any working directory (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings, settings_from_dict

SETTINGS = """
[gateway]
support_addresses = ["support@support.example.test"]
data_dir = "var"
templates_dir = "../templates"
plans_dir = "plans"
[outbound]
folder = "spool/outbox"
[relay]
host = "relay.example.test"
ca_file = "tls/ca.pem"
password_file = "secrets/relay"
[[imap]]
name = "support"
host = "imap.example.test"
user = "support"
password_file = "/run/credentials/imap"
[tokens]
secret_file = "secrets/token"
"""


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    folder = tmp_path / "etc" / "support-gateway"
    folder.mkdir(parents=True)
    path = folder / "gateway.toml"
    path.write_text(SETTINGS, encoding="utf-8")
    return path


def test_every_relative_path_is_taken_from_the_settings_files_folder(
        settings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path("etc/support-gateway/gateway.toml"))
    folder = settings_file.parent
    assert settings.gateway.data_dir == folder / "var"
    assert settings.gateway.templates_dir == tmp_path / "etc" / "templates"  # `..` folded away
    assert settings.gateway.plans_dir == folder / "plans"
    assert settings.outbound.folder == folder / "spool" / "outbox"
    assert settings.relay is not None
    assert (settings.relay.ca_file, settings.relay.password_file) == (folder / "tls/ca.pem", folder / "secrets/relay")
    assert settings.tokens.secret_file == folder / "secrets" / "token"
    assert settings.database_url == f"sqlite:///{folder / 'var' / 'gateway.db'}"


def test_absolute_paths_and_the_built_in_templates_are_left_alone(settings_file: Path) -> None:
    settings_file.write_text(SETTINGS.replace('templates_dir = "../templates"\n', ""), encoding="utf-8")
    settings = load_settings(settings_file)
    assert settings.imap[0].password_file == Path("/run/credentials/imap")
    assert (settings.gateway.templates_dir / "en" / "ack.txt.j2").is_file()


def test_the_work_process_copy_of_the_settings_keeps_the_resolved_paths(
        settings_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(settings_file)
    monkeypatch.chdir(tmp_path)  # the work process may start elsewhere: nothing is resolved twice
    copy = settings_from_dict(settings.model_dump(mode="json"))
    assert copy == settings and copy.gateway.data_dir == settings_file.parent / "var"
