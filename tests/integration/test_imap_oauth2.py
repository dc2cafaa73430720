"""IMAP intake with auth = "oauth2" (issue 12): SASL XOAUTH2 against a real Dovecot whose oauth2
passdb asks a local token-introspection endpoint (RFC 7662) whether the bearer token is active."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import FixedClock
from gateway.intake.imap import ImapPoller
from gateway.intake.imap_errors import ImapAuthError
from store.inbound import InboundMessage
from gateway.ops.cli import main as cli_main
from tests.conftest import settings_dict
from tests.support.dovecot import Dovecot, MailUser, require_dovecot, settings_toml
from tests.support.mails import customer_mail

GOOD_TOKENS: dict[str, str] = {}  # token -> the username the introspection endpoint vouches for


class _Introspection(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name; RFC 7662 §2.1: token=... in the body
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self._answer((parse_qs(body).get("token") or [""])[0])

    def do_GET(self) -> None:  # noqa: N802 - Dovecot 2.3 asks tokeninfo_url first: ?token=... in the URL
        query = self.path.partition("?")[2]
        self._answer((parse_qs(query).get("token") or [""])[0])

    def _answer(self, token: str) -> None:
        user = GOOD_TOKENS.get(token)
        answer = {"active": True, "username": user} if user else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def oauth_dovecot() -> Iterator[Dovecot]:
    require_dovecot()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Introspection)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/introspect"
    instance = Dovecot(auth_mechanisms="plain xoauth2 oauthbearer")
    oauth_conf = instance.dir / "dovecot-oauth2.conf.ext"
    oauth_conf.write_text(f"introspection_mode = post\nintrospection_url = {url}\ntokeninfo_url = {url}?token=\n"
                          "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                          encoding="utf-8")
    oauth_conf.chmod(0o644)
    instance.config.write_text(instance.config.read_text(encoding="utf-8")
                               + f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                                 f"  args = {oauth_conf}\n}}\n", encoding="utf-8")
    instance.start()
    try:
        yield instance
    finally:
        instance.close()
        server.shutdown()
        server.server_close()


def _poller(make_settings, dovecot: Dovecot, user: MailUser, token_file: Path,  # type: ignore[no-untyped-def]
            sessions: sessionmaker[Session], clock: FixedClock, **kwargs: object) -> ImapPoller:
    account = {k: v for k, v in dovecot.account(user).items() if k != "password_env"}
    settings = make_settings(imap=[{**account, "auth": "oauth2", "token_file": str(token_file)}])
    return ImapPoller(settings.imap[0], "", sessions, clock, max_size=settings.smtp.max_message_size,
                      **kwargs)  # type: ignore[arg-type]


def _imported(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def test_a_mail_is_imported_when_the_token_file_holds_a_good_token(
        make_settings, oauth_dovecot: Dovecot, sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_dovecot.add_user()
    GOOD_TOKENS["good-" + user.name] = user.name
    token_file = tmp_path / "token"
    token_file.write_text("good-" + user.name + "\n", encoding="utf-8")
    oauth_dovecot.append(user, [customer_mail(subject="Over OAuth2")])
    poller = _poller(make_settings, oauth_dovecot, user, token_file, sessions, clock)
    try:
        poller.poll_once()
    finally:
        poller.close()
    assert _imported(sessions) == 1
    assert oauth_dovecot.uids(user) == []


def test_a_refused_token_logs_one_error_imports_nothing_and_backs_off(
        make_settings, oauth_dovecot: Dovecot, sessions, clock, tmp_path: Path,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    user = oauth_dovecot.add_user()
    token_file = tmp_path / "token"
    token_file.write_text("expired-token", encoding="utf-8")
    oauth_dovecot.append(user, [customer_mail(subject="Stays put")])
    poller = _poller(make_settings, oauth_dovecot, user, token_file, sessions, clock)
    with caplog.at_level(logging.INFO):
        thread = threading.Thread(target=poller.run)
        thread.start()
        time.sleep(3)  # a retry loop would log in again and again in this window
        poller.stop.set()
        thread.join(15)
    errors = [r.getMessage() for r in caplog.records
              if r.levelno == logging.ERROR and "authentication failed" in r.getMessage()]
    assert len(errors) == 1, errors
    assert "token_file" in errors[0] and "next attempt in 900 s" in errors[0]
    assert _imported(sessions) == 0
    assert len(oauth_dovecot.uids(user)) == 1


def test_a_rotated_token_file_is_used_at_the_next_login(
        make_settings, oauth_dovecot: Dovecot, sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_dovecot.add_user()
    token_file = tmp_path / "token"
    token_file.write_text("old-token", encoding="utf-8")
    oauth_dovecot.append(user, [customer_mail(subject="After rotation")])
    poller = _poller(make_settings, oauth_dovecot, user, token_file, sessions, clock)
    try:
        with pytest.raises(ImapAuthError):
            poller.poll_once()
        GOOD_TOKENS["new-" + user.name] = user.name
        token_file.write_text("new-" + user.name, encoding="utf-8")
        poller.poll_once()
    finally:
        poller.close()
    assert _imported(sessions) == 1


def test_check_config_refuses_oauth2_without_a_token_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account = {"name": "support", "host": "127.0.0.1", "security": "plain", "user": "u", "auth": "oauth2"}
    path = tmp_path / "gateway.toml"
    path.write_text(settings_toml(settings_dict(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", imap=[account])),
                    encoding="utf-8")
    assert cli_main(["--config", str(path), "check-config"]) == 2
    assert "token_file" in capsys.readouterr().err
