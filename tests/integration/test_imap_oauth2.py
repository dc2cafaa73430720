"""IMAP intake with auth = "oauth2" (issue 12): SASL XOAUTH2 against a real Dovecot whose oauth2
passdb asks a local token-introspection endpoint (RFC 7662) whether the bearer token is active."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import FixedClock
from gateway.intake.imap import ImapPoller
from gateway.intake.imap_errors import ImapAuthError
from store.inbound import InboundMessage
from gateway.ops.cli import main as cli_main
from tests.conftest import settings_dict
from tests.support.dovecot import Dovecot, MailUser, settings_toml
from tests.support.oauth import OAuthStand, oauth_stand  # noqa: F401 - a fixture
from tests.support.mails import customer_mail

@pytest.fixture(scope="module")
def oauth_dovecot(oauth_stand: OAuthStand) -> Dovecot:
    return oauth_stand.dovecot


@pytest.fixture(scope="module")
def good_tokens(oauth_stand: OAuthStand) -> dict[str, str]:
    """token -> the username the introspection endpoint vouches for"""
    return oauth_stand.provider.active


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
        make_settings, oauth_dovecot: Dovecot, good_tokens: dict[str, str], sessions, clock,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    user = oauth_dovecot.add_user()
    good_tokens["good-" + user.name] = user.name
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
        make_settings, oauth_dovecot: Dovecot, good_tokens: dict[str, str], sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_dovecot.add_user()
    token_file = tmp_path / "token"
    token_file.write_text("old-token", encoding="utf-8")
    oauth_dovecot.append(user, [customer_mail(subject="After rotation")])
    poller = _poller(make_settings, oauth_dovecot, user, token_file, sessions, clock)
    try:
        with pytest.raises(ImapAuthError):
            poller.poll_once()
        good_tokens["new-" + user.name] = user.name
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
