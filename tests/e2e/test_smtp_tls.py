"""TLS on intake and the trace of each mail (issue 12): STARTTLS (RFC 3207), require_tls, a Received:
line on every stored mail (RFC 5321 §4.4) that leaves an SMTP retry a no-op, and our own name."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.settings import Settings, settings_from_dict
from gateway.settings_sections import SmtpSection
from store.db import make_engine
from tests.conftest import settings_dict
from tests.support.certs import self_signed
from tests.support.daemon import RunningDaemon
from tests.support.mails import customer_mail

SUPPORT = "support@support.example.test"


def _settings(tmp_path: Path, sqlite_url: str, **smtp: object) -> Settings:
    return settings_from_dict(settings_dict(tmp_path, sqlite_url, smtp={"hostname": "gw.vendor.example.test", **smtp},
                                            gateway={"work_process": False}))


def _tls(tmp_path: Path) -> dict[str, str]:
    cert, key = self_signed(tmp_path)
    return {"tls_cert": str(cert), "tls_key": str(key)}


def _client_context(tmp_path: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tmp_path / "relay.crt"))


def _stored(settings: Settings) -> list[tuple[bytes, str]]:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT r.raw, m.sha256 FROM inbound_raw r JOIN inbound_messages m ON m.id = r.inbound_id")).all()
        return [(bytes(raw), sha) for raw, sha in rows]
    finally:
        engine.dispose()


def test_starttls_is_offered_and_the_received_line_says_esmtps_by_our_hostname(
        tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url, **_tls(tmp_path))
    daemon = RunningDaemon(settings).start()
    try:
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
            code, banner = client.ehlo("client.example.test")
            assert b"STARTTLS" in banner and banner.startswith(b"gw.vendor.example.test")
            client.starttls(context=_client_context(tmp_path))
            client.ehlo("client.example.test")  # RFC 3207 §4.2: the session starts again
            client.sendmail("alice@example.test", [SUPPORT], customer_mail())
    finally:
        daemon.stop()
    [(raw, _)] = _stored(settings)
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    received = header.split("\r\nFrom:", 1)[0]
    assert received.startswith("Received: from client.example.test (localhost [127.0.0.1])")
    assert "by gw.vendor.example.test (support-gateway) with ESMTPS id " in received
    assert f"for <{SUPPORT}>;" in received


def test_require_tls_refuses_mail_before_starttls(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url, require_tls=True, **_tls(tmp_path))
    daemon = RunningDaemon(settings).start()
    try:
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
            client.ehlo("client.example.test")
            assert client.mail("alice@example.test")[0] == 530
            client.starttls(context=_client_context(tmp_path))
            client.ehlo("client.example.test")
            assert client.mail("alice@example.test")[0] == 250
    finally:
        daemon.stop()


def test_a_retry_of_the_same_mail_is_still_one_mail_although_each_received_line_differs(
        tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    daemon = RunningDaemon(settings).start()
    raw = customer_mail(message_id="<retry@example.test>")
    try:
        for _ in range(2):  # the sender lost our first 250 and sends again
            with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as client:
                client.sendmail("alice@example.test", [SUPPORT], raw)
    finally:
        daemon.stop()
    [(stored, sha)] = _stored(settings)
    assert stored.startswith(b"Received: ")
    assert sha == hashlib.sha256(stored.split(b"\r\n", 3)[3]).hexdigest()  # the key: the bytes as sent


def test_an_unreadable_certificate_is_a_settings_error_naming_the_key(tmp_path: Path) -> None:
    from gateway.intake.tls import server_tls_context
    from gateway.settings import SettingsError

    section = SmtpSection(tls_cert=tmp_path / "missing.pem", tls_key=tmp_path / "missing.key")
    with pytest.raises(SettingsError, match=r"^smtp\.tls_cert: cannot read"):
        server_tls_context(section)
    with pytest.raises(SettingsError, match="tls_key: give both"):
        settings_from_dict({"gateway": {"support_addresses": [SUPPORT]}, "smtp": {"tls_cert": "a.pem"}})


def test_the_hostname_defaults_to_the_machines_fqdn_not_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.getfqdn", lambda name="": "mx1.vendor.example.test")
    assert SmtpSection().hostname == "mx1.vendor.example.test"
    monkeypatch.setattr("socket.getfqdn", lambda name="": "localhost")
    monkeypatch.setattr("socket.gethostname", lambda: "gw7")
    assert SmtpSection().hostname == "gw7"
