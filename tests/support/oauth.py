"""A local OAuth2 authorization server for the IMAP OAuth2 tests (issue 12), and a Dovecot that trusts it.

One http.server in a thread plays both parts of a real provider:
- `/token`: the token endpoint (RFC 6749 §3.2) for the refresh-token (§6) and client-credentials
  (§4.4) grants, with rotation of refresh tokens and RFC 6749 §5.2 errors;
- `/introspect`: the token-introspection endpoint (RFC 7662) that Dovecot's oauth2 passdb asks
  whether a bearer token is active and whose mailbox it opens.
So a token the test's endpoint hands out is exactly a token Dovecot accepts.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.dovecot import Dovecot, require_dovecot


@dataclass
class Provider:
    """What the authorization server knows; tests change it to revoke, rotate or refuse."""

    active: dict[str, str] = field(default_factory=dict)  # access token -> the username it opens
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> client secret
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> username
    app_users: dict[str, str] = field(default_factory=dict)  # client_id -> mailbox (client credentials)
    rotate: bool = False  # hand out a new refresh token with each refresh, retiring the old one
    expires_in: int = 3600
    grants: list[dict[str, str]] = field(default_factory=list)  # every token request's form, in order
    _serial: Iterator[int] = field(default_factory=itertools.count)

    def token_answer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.grants.append(form)
        client = form.get("client_id", "")
        if client not in self.clients or self.clients[client] not in ("", form.get("client_secret")):
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        if form.get("grant_type") == "refresh_token":
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if user is None:
                return 400, {"error": "invalid_grant", "error_description": "refresh token revoked or unknown"}
        elif form.get("grant_type") == "client_credentials":
            user = self.app_users.get(client)
            if user is None:
                return 400, {"error": "unauthorized_client"}
        else:
            return 400, {"error": "unsupported_grant_type"}
        access = f"access-{next(self._serial)}-{user}"
        self.active[access] = user
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": self.expires_in}
        if form["grant_type"] == "refresh_token" and self.rotate:
            new = f"refresh-{next(self._serial)}-{user}"
            del self.refresh_tokens[form["refresh_token"]]
            self.refresh_tokens[new] = user
            answer["refresh_token"] = new
        return 200, answer


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0))
                                             .decode()).items()}
        if self.path.startswith("/token"):
            self._json(*self.provider.token_answer(form))
        else:  # RFC 7662 §2.1: token=... in the body
            self._introspect(form.get("token", ""))

    def do_GET(self) -> None:  # noqa: N802 - Dovecot 2.3 asks tokeninfo_url first: ?token=... in the URL
        self._introspect((parse_qs(self.path.partition("?")[2]).get("token") or [""])[0])

    def _introspect(self, token: str) -> None:
        user = self.provider.active.get(token)
        self._json(200, {"active": True, "username": user} if user else {"active": False})

    def _json(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class OAuthStand:
    dovecot: Dovecot
    provider: Provider
    token_url: str


@pytest.fixture(scope="module")
def oauth_stand() -> Iterator[OAuthStand]:
    """A Dovecot whose oauth2 passdb (XOAUTH2 and OAUTHBEARER) asks the local provider's introspection endpoint."""
    require_dovecot()
    provider = Provider()
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    instance = Dovecot(auth_mechanisms="plain xoauth2 oauthbearer")
    oauth_conf = instance.dir / "dovecot-oauth2.conf.ext"
    oauth_conf.write_text(f"introspection_mode = post\nintrospection_url = {base}/introspect\n"
                          f"tokeninfo_url = {base}/introspect?token=\n"
                          "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                          encoding="utf-8")
    oauth_conf.chmod(0o644)
    instance.config.write_text(instance.config.read_text(encoding="utf-8")
                               + f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                                 f"  args = {oauth_conf}\n}}\n", encoding="utf-8")
    instance.start()
    try:
        yield OAuthStand(instance, provider, f"{base}/token")
    finally:
        instance.close()
        server.shutdown()
        server.server_close()
