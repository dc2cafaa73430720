"""`[authentication]` settings: defaults, errors that name the key, and what check-config says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.app import build_app
from gateway.core.authenticity import AuthPolicy
from gateway.ops.cli import main
from gateway.settings import SettingsError, settings_from_dict
from gateway.work.authentication import authenticator_for
from tests.conftest import settings_dict
from tests.e2e.test_cli import _to_toml
from tests.support.dkim_signing import signed, write_zone
from tests.support.mails import customer_mail


def settings(tmp_path: Path, authentication: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    overrides = {"authentication": authentication} if authentication is not None else {}
    return settings_from_dict(settings_dict(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", **overrides))


def test_without_the_section_nothing_is_checked(tmp_path: Path) -> None:
    plain = settings(tmp_path)
    assert plain.authentication is None and build_app(plain, create_secret=False).policy.authentication is None
    assert authenticator_for(plain) is None


def test_engineers_require_and_customers_record_by_default(tmp_path: Path) -> None:
    configured = settings(tmp_path, {"trusted_authserv_ids": ["MX.Vendor.Example"]})
    assert configured.authentication is not None
    assert configured.authentication.trusted_authserv_ids == ["mx.vendor.example"]
    assert build_app(configured, create_secret=False).policy.authentication == AuthPolicy("require", "record")


@pytest.mark.parametrize(("values", "key", "words"), [
    ({}, "authentication", "nothing would be checked"),
    ({"trusted_authserv_ids": ["mx vendor"]}, "authentication.trusted_authserv_ids", "not an authserv-id"),
    ({"verify": "spf"}, "authentication.verify", "'dkim'"),
    ({"verify": "dkim", "customers": "reject"}, "authentication.customers", "'record' or 'quarantine'"),
    ({"verify": "dkim", "engineers": "trust"}, "authentication.engineers", "'require' or 'record'"),
    ({"trusted_authserv_ids": ["mx.vendor.example"], "dns_zone_file": "keys.zone"}, "authentication",
     "only used with verify"),
    ({"verify": "dkim", "dns_timeout": 0}, "authentication.dns_timeout", "greater than 0"),
    ({"verify": "dkim", "dkim": True}, "authentication.dkim", "Extra inputs"),
])
def test_a_bad_authentication_key_is_named(tmp_path: Path, values: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(tmp_path, values)
    assert str(raised.value).startswith(key) and words in str(raised.value)


def test_an_unreadable_zone_file_is_a_settings_error_naming_the_key(tmp_path: Path) -> None:
    configured = settings(tmp_path, {"verify": "dkim", "dns_zone_file": str(tmp_path / "missing.zone")})
    with pytest.raises(SettingsError, match=r"^authentication.dns_zone_file: cannot read"):
        authenticator_for(configured)


def _check_config(tmp_path: Path, capsys: pytest.CaptureFixture[str], **authentication: Any) -> tuple[int, str, str]:
    overrides = {"authentication": authentication} if authentication else {}
    path = tmp_path / "gateway.toml"
    path.write_text(_to_toml(settings_dict(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", **overrides)),
                    encoding="utf-8")
    code = main(["--config", str(path), "check-config"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_config_says_authentication_is_off_without_the_section(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check_config(tmp_path, capsys)
    assert code == 0 and "authentication: off (no [authentication] section)" in out


def test_check_config_says_what_is_trusted_and_what_each_sender_needs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = write_zone(tmp_path / "keys.zone", {"example.test": "a"})
    code, out, _ = _check_config(tmp_path, capsys, trusted_authserv_ids=["mx.vendor.example"], verify="dkim",
                                 dns_zone_file=str(zone), customers="quarantine")
    assert code == 0
    assert (f"authentication: Authentication-Results from mx.vendor.example; DKIM verified here (keys from {zone}); "
            "engineers require, customers quarantine") in out


def test_check_config_fails_on_a_broken_zone_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = tmp_path / "keys.zone"
    zone.write_text('s1._domainkey.example.test TXT ( "v=DKIM1;\n', encoding="utf-8")
    code, _, err = _check_config(tmp_path, capsys, verify="dkim", dns_zone_file=str(zone))
    assert code == 2 and "authentication.dns_zone_file: not a zone file" in err


def test_inspect_checks_the_signature_as_the_daemon_would(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone = write_zone(tmp_path / "keys.zone", {"example.test": "a"})
    signed_file = tmp_path / "signed.eml"
    signed_file.write_bytes(signed(customer_mail(), "example.test"))
    _check_config(tmp_path, capsys, verify="dkim", dns_zone_file=str(zone))
    assert main(["--config", str(tmp_path / "gateway.toml"), "inspect", "--json", str(signed_file)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["authentication"]["summary"] == "dkim=pass (example.test)" and first["action"] == "open-incident"
