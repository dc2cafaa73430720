"""Delivery to a submission relay that requires STARTTLS and AUTH, with the password from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.outbound.configure import make_transport
from tests.support.certs import self_signed, server_context
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline
from tests.support.relay_sink import RelaySink


@pytest.fixture
def secure_sink(tmp_path: Path) -> Iterator[tuple[RelaySink, Path]]:
    cert, key = self_signed(tmp_path)
    sink = RelaySink(tls_context=server_context(cert, key), credentials=("gateway", "s3cret")).start()
    yield sink, cert
    sink.stop()


def _send_one_ack(sink: RelaySink, cert: Path | None, make_settings, sessions, clock: FixedClock,  # type: ignore[no-untyped-def]
                  **relay: object) -> Pipeline:
    """Open one incident and run the pipeline with a relay transport built from the settings."""
    ca = {"ca_file": str(cert)} if cert else {}
    settings = make_settings(relay={"host": "127.0.0.1", "port": sink.port, "starttls": True, "timeout": 5,
                                    **ca, **relay})
    pipeline = Pipeline(build_app(settings), sessions, clock, transport=make_transport(settings))
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    return pipeline


def test_ack_goes_through_starttls_and_auth_with_the_password_from_the_environment(
        secure_sink: tuple[RelaySink, Path], make_settings, sessions, clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    sink, cert = secure_sink
    monkeypatch.setenv("TEST_RELAY_PASSWORD", "s3cret")
    pipeline = _send_one_ack(sink, cert, make_settings, sessions, clock,
                             username="gateway", password_env="TEST_RELAY_PASSWORD")
    assert len(sink.wait_for(1)) == 1 and sink.logins == ["gateway"]
    assert pipeline.outbox()[0].state == codes.OUT_SENT


def test_wrong_relay_password_keeps_the_mail_queued_with_the_reason(
        secure_sink: tuple[RelaySink, Path], make_settings, sessions, clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    sink, cert = secure_sink
    monkeypatch.setenv("TEST_RELAY_PASSWORD", "wrong")
    pipeline = _send_one_ack(sink, cert, make_settings, sessions, clock,
                             username="gateway", password_env="TEST_RELAY_PASSWORD")
    [row] = pipeline.outbox()
    assert row.state == codes.OUT_QUEUED  # an operator fixes the password; nothing bounces
    assert "authentication failed" in (row.last_error or "")
    assert sink.messages == []


def test_relay_with_an_untrusted_certificate_is_not_sent_to(
        secure_sink: tuple[RelaySink, Path], make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    sink, _ = secure_sink
    pipeline = _send_one_ack(sink, None, make_settings, sessions, clock)
    [row] = pipeline.outbox()
    assert row.state == codes.OUT_QUEUED and "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
    assert sink.messages == []


def test_check_config_fails_when_the_relay_password_variable_is_missing(
        make_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from gateway.settings import SettingsError

    monkeypatch.delenv("TEST_RELAY_PASSWORD", raising=False)
    settings = make_settings(relay={"host": "127.0.0.1", "username": "gateway",
                                    "password_env": "TEST_RELAY_PASSWORD"})
    with pytest.raises(SettingsError, match="relay.password_env: environment variable TEST_RELAY_PASSWORD"):
        make_transport(settings)
