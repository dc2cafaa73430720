"""IMAP intake that gets its own OAuth2 tokens (issue 12): refresh-token and client-credentials grants
against a local token endpoint, SASL XOAUTH2 and OAUTHBEARER against a real Dovecot that trusts it."""

from __future__ import annotations

import logging
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import FixedClock
from gateway.intake.imap import Backoff, ImapPoller
from gateway.intake.imap_oauth import AccessTokens
from gateway.settings import ImapSection
from gateway.ops.cli import main as cli_main
from store.inbound import InboundMessage
from tests.conftest import settings_dict
from tests.support.daemon import RunningDaemon
from tests.support.dovecot import MailUser, free_port, settings_toml
from tests.support.mails import customer_mail
from tests.support.oauth import OAuthStand, oauth_stand  # noqa: F401 - a fixture

CLIENT_ID, SECRET = "support-gateway", "s3cret"


def _account(make_settings, stand: OAuthStand, user: MailUser, tmp_path: Path,  # type: ignore[no-untyped-def]
             **oauth: Any) -> ImapSection:
    account = {k: v for k, v in stand.dovecot.account(user).items() if k != "password_env"}
    secret = tmp_path / "client-secret"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    settings = make_settings(imap=[{**account, "auth": "oauth2", "token_url": stand.token_url,
                                    "client_id": CLIENT_ID, "client_secret_file": str(secret), **oauth}])
    return settings.imap[0]  # type: ignore[no-any-return]


def _poller(account: ImapSection, sessions: sessionmaker[Session], clock: FixedClock) -> ImapPoller:
    return ImapPoller(account, SECRET, sessions, clock, max_size=10_000_000)


def _refresh_token_file(stand: OAuthStand, user: MailUser, tmp_path: Path) -> Path:
    stand.provider.clients[CLIENT_ID] = SECRET
    token = f"refresh-first-{user.name}"
    stand.provider.refresh_tokens[token] = user.name
    path = tmp_path / "refresh-token"
    path.write_text(token + "\n", encoding="utf-8")
    return path


def _imported(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def _poll(poller: ImapPoller) -> None:
    try:
        poller.poll_once()
    finally:
        poller.close()


def test_a_mail_is_imported_with_a_token_from_the_refresh_token_grant_and_the_rotated_token_is_saved_0600(
        make_settings, oauth_stand: OAuthStand, sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    oauth_stand.provider.rotate = True
    try:
        oauth_stand.dovecot.append(user, [customer_mail(subject="Refreshed")])
        _poll(_poller(_account(make_settings, oauth_stand, user, tmp_path, refresh_token_file=str(refresh_file)),
                      sessions, clock))
    finally:
        oauth_stand.provider.rotate = False
    assert _imported(sessions) == 1 and oauth_stand.dovecot.uids(user) == []
    saved = refresh_file.read_text(encoding="utf-8").strip()
    assert saved != f"refresh-first-{user.name}" and oauth_stand.provider.refresh_tokens[saved] == user.name
    assert stat.S_IMODE(refresh_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".refresh-token")] == []  # no temporary left
    grant = oauth_stand.provider.grants[-1]
    assert grant["grant_type"] == "refresh_token" and grant["client_secret"] == SECRET


def test_a_mail_is_imported_over_oauthbearer_with_a_client_credentials_token(
        make_settings, oauth_stand: OAuthStand, sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    app = f"app-{user.name}"
    oauth_stand.provider.clients[app] = SECRET
    oauth_stand.provider.app_users[app] = user.name
    oauth_stand.dovecot.append(user, [customer_mail(subject="App-only access")])
    account = _account(make_settings, oauth_stand, user, tmp_path, client_id=app, sasl="oauthbearer",
                       scope="https://outlook.office365.com/.default")
    _poll(_poller(account, sessions, clock))
    assert _imported(sessions) == 1
    grant = oauth_stand.provider.grants[-1]
    assert grant["grant_type"] == "client_credentials" and grant["scope"] == "https://outlook.office365.com/.default"
    assert f"user=<{user.name}>, method=OAUTHBEARER" in oauth_stand.dovecot.log.read_text(errors="replace")


def test_the_token_is_cached_until_a_minute_before_it_expires(
        make_settings, oauth_stand: OAuthStand, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    account = _account(make_settings, oauth_stand, user, tmp_path, refresh_token_file=str(refresh_file))
    now = [1000.0]
    tokens = AccessTokens(account, SECRET, monotonic=lambda: now[0])
    first = tokens.get()
    now[0] += 3600 - 61  # expires_in is 3600: still more than a minute left
    assert tokens.get() == first
    now[0] += 2  # now less than a minute is left
    assert tokens.get() != first


def test_an_expires_in_sent_as_a_string_still_ends_the_cached_token_in_time(
        make_settings, oauth_stand: OAuthStand, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    account = _account(make_settings, oauth_stand, user, tmp_path, refresh_token_file=str(refresh_file))
    now = [1000.0]
    tokens = AccessTokens(account, SECRET, monotonic=lambda: now[0])
    oauth_stand.provider.expires_in = "120"  # type: ignore[assignment] - as some endpoints send it
    try:
        first = tokens.get()
        now[0] += 61
        assert tokens.get() != first
    finally:
        oauth_stand.provider.expires_in = 3600


def test_a_revoked_cached_token_is_replaced_by_a_fresh_one_at_the_next_login(
        make_settings, oauth_stand: OAuthStand, sessions, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    poller = _poller(_account(make_settings, oauth_stand, user, tmp_path, refresh_token_file=str(refresh_file)),
                     sessions, clock)
    oauth_stand.dovecot.append(user, [customer_mail(subject="Before the revocation")])
    _poll(poller)
    revoked = [token for token, owner in oauth_stand.provider.active.items() if owner == user.name]
    for token in revoked:
        del oauth_stand.provider.active[token]  # the provider revokes it well before its expires_in
    oauth_stand.dovecot.append(user, [customer_mail(subject="After the revocation")])
    _poll(poller)
    assert _imported(sessions) == 2
    assert [t for t, owner in oauth_stand.provider.active.items() if owner == user.name] != revoked


def test_the_daemon_reads_the_client_secret_at_start_and_imports_mail_with_a_token_it_fetched(
        make_settings, oauth_stand: OAuthStand, sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    account = _account(make_settings, oauth_stand, user, tmp_path, refresh_token_file=str(refresh_file))
    oauth_stand.dovecot.append(user, [customer_mail(subject="Through the daemon")])
    daemon = RunningDaemon(make_settings(imap=[account.model_dump(mode="json", exclude_none=True)])).start()
    try:
        deadline = time.monotonic() + 20
        while _imported(sessions) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        daemon.stop()
    assert _imported(sessions) == 1
    assert oauth_stand.provider.grants[-1]["client_secret"] == SECRET


def _errors_while_running(poller: ImapPoller, caplog: pytest.LogCaptureFixture) -> list[str]:
    with caplog.at_level(logging.INFO):
        thread = threading.Thread(target=poller.run)
        thread.start()
        time.sleep(2)  # a retry loop would ask the endpoint again and again in this window
        poller.stop.set()
        thread.join(15)
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_an_invalid_grant_is_one_error_naming_the_account_and_token_url_then_the_long_back_off(
        make_settings, oauth_stand: OAuthStand, sessions, clock, tmp_path: Path,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    user = oauth_stand.dovecot.add_user()
    refresh_file = _refresh_token_file(oauth_stand, user, tmp_path)
    refresh_file.write_text("a-revoked-refresh-token", encoding="utf-8")
    oauth_stand.dovecot.append(user, [customer_mail(subject="Stays put")])
    asked = len(oauth_stand.provider.grants)
    errors = _errors_while_running(_poller(_account(make_settings, oauth_stand, user, tmp_path,
                                                    refresh_token_file=str(refresh_file)), sessions, clock), caplog)
    assert len(errors) == 1, errors
    assert errors[0].startswith("imap[support]: ") and f"token_url {oauth_stand.token_url}" in errors[0]
    assert "HTTP 400: invalid_grant" in errors[0] and "next attempt in 900 s" in errors[0]
    assert len(oauth_stand.provider.grants) == asked + 1
    assert _imported(sessions) == 0 and len(oauth_stand.dovecot.uids(user)) == 1


def test_a_token_endpoint_that_is_down_is_one_error_and_the_same_back_off(
        make_settings, oauth_stand: OAuthStand, sessions, clock, tmp_path: Path,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    user = oauth_stand.dovecot.add_user()
    down = f"http://127.0.0.1:{free_port()}/token"  # nothing listens there
    account = _account(make_settings, oauth_stand, user, tmp_path, token_url=down, scope="imap")
    poller = ImapPoller(account, SECRET, sessions, clock, max_size=10_000_000, backoff=Backoff())
    errors = _errors_while_running(poller, caplog)
    assert len(errors) == 1, errors
    assert f"token_url {down}" in errors[0] and "unreachable" in errors[0] and "next attempt in 900 s" in errors[0]


@pytest.mark.parametrize(("oauth", "key", "words"), [
    ({}, "auth", "token_file"),
    ({"token_file": "t", "token_url": "https://login.example.com/token"}, "auth", "not both"),
    ({"token_url": "https://login.example.com/token"}, "client_id", "client_id"),
    ({"token_url": "https://login.example.com/token", "client_id": "c"}, "client_secret_file", "§4.4"),
    ({"token_url": "http://login.example.com/token", "client_id": "c", "refresh_token_file": "r"}, "token_url",
     "loopback"),
    ({"token_file": "t", "client_id": "c"}, "client_id", "only used with token_url"),
    ({"auth": "password", "password_env": "X", "sasl": "oauthbearer"}, "sasl", 'only used with auth = "oauth2"'),
])
def test_check_config_names_the_line_and_key_of_an_oauth2_setting_that_does_not_fit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], oauth: dict[str, str], key: str, words: str) -> None:
    account = {"name": "support", "host": "127.0.0.1", "security": "plain", "user": "u", "auth": "oauth2", **oauth}
    path = tmp_path / "gateway.toml"
    text = settings_toml(settings_dict(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", imap=[account]))
    path.write_text(text, encoding="utf-8")
    assert cli_main(["--config", str(path), "check-config"]) == 2
    error = capsys.readouterr().err
    rows = text.splitlines()
    # The key's own line, or where [[imap]] begins when the mistake is a key that is missing.
    line = 1 + next((n for n, row in enumerate(rows) if row.split("=")[0].strip() == key), rows.index("[[imap]]"))
    assert f"{path}:{line}: imap[0].{key}: " in error and words in error, error


def test_check_config_accepts_a_refresh_token_flow_for_a_public_client(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    account = {"name": "support", "host": "127.0.0.1", "security": "plain", "user": "u", "auth": "oauth2",
               "token_url": "https://oauth2.googleapis.com/token", "client_id": "c", "refresh_token_file": "r"}
    path = tmp_path / "gateway.toml"
    path.write_text(settings_toml(settings_dict(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", imap=[account])),
                    encoding="utf-8")
    assert cli_main(["--config", str(path), "check-config"]) == 0, capsys.readouterr().err
