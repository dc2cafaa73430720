"""[metrics] settings (issue 12): a listen address is checked, and a public one is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ops.config_check import metrics_warnings
from gateway.settings import SettingsError, settings_from_dict
from tests.conftest import settings_dict


def test_metrics_on_a_public_address_gets_a_warning_and_on_loopback_none(tmp_path: Path) -> None:
    public = settings_from_dict(settings_dict(tmp_path, "sqlite://", metrics={"listen": "0.0.0.0:9109"}))
    [warning] = metrics_warnings(public)
    assert warning.key == "metrics.listen" and "not loopback" in warning.message
    assert metrics_warnings(settings_from_dict(settings_dict(tmp_path, "sqlite://", metrics={}))) == []


def test_a_metrics_listen_without_a_port_is_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="metrics.listen"):
        settings_from_dict(settings_dict(tmp_path, "sqlite://", metrics={"listen": "localhost"}))
