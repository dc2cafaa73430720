"""`[[imap]]`: one mailbox to poll (issue 3), logged in with a password or an OAuth2 bearer token (issue 12).

With `auth = "oauth2"` the access token comes from one of two places:

- `token_file`: something else (a cron job, a sidecar) keeps a fresh token in the file; the
  gateway re-reads it at every login.
- `token_url` + `client_id`: the gateway asks the token endpoint itself (RFC 6749 §3.2), with
  the refresh-token grant (§6) when `refresh_token_file` is set — Gmail, or Microsoft 365 with a
  delegated mailbox — or else the client-credentials grant (§4.4) — Microsoft 365's app-only
  IMAP access, which needs `client_secret_*` and `scope`.

The token is presented with SASL XOAUTH2 (Google's and Microsoft's mechanism) or OAUTHBEARER
(RFC 7628), chosen with `sasl`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from gateway.settings_problems import SettingsError
from gateway.settings_sections import CREDENTIAL_NAME, _WithSecret, read_credential

_LOOPBACK = ("127.", "::1", "localhost")
_OAUTH2_ONLY = ("token_file", "token_url", "client_id", "client_secret_file", "client_secret_credential",
                "refresh_token_file", "scope", "sasl")
_FLOW_ONLY = ("client_id", "client_secret_file", "client_secret_credential", "refresh_token_file", "scope")


class ImapSection(_WithSecret):
    """One mailbox to poll (issue 3): read with BODY.PEEK[], committed, then moved or flagged."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # default 993 for tls, else 143
    security: Literal["tls", "starttls", "plain"] = "tls"
    user: str
    mailbox: str = "INBOX"
    mode: Literal["move", "flag"] = "move"  # flag: for servers without MOVE/UIDPLUS
    processed_folder: str = "Processed"
    poll_interval: float = Field(default=60.0, gt=0)
    idle: bool = True
    batch_size: int = Field(default=50, ge=1, le=1000)
    timeout: float = Field(default=30.0, gt=0)  # seconds per IMAP operation, and per token request
    auth: Literal["password", "oauth2"] = "password"
    sasl: Literal["xoauth2", "oauthbearer"] = "xoauth2"
    token_file: Path | None = None  # an access token kept fresh by something else
    token_url: str | None = None  # or: the token endpoint the gateway asks itself
    client_id: str | None = None
    client_secret_file: Path | None = None
    client_secret_credential: str | None = Field(default=None, pattern=CREDENTIAL_NAME)
    refresh_token_file: Path | None = None  # refresh-token grant; without it, client credentials
    scope: str | None = None  # e.g. "https://outlook.office365.com/.default" for Microsoft 365 app-only

    @model_validator(mode="after")
    def _oauth2_settings_fit_together(self) -> ImapSection:
        # By value, not model_fields_set: the work process validates a model_dump with every key.
        given = [key for key in _OAUTH2_ONLY if getattr(self, key) not in (None, "xoauth2")]
        if self.auth != "oauth2":
            if given:
                raise ValueError(f'{given[0]}: only used with auth = "oauth2"')
            return self
        if (self.token_file is None) == (self.token_url is None):
            raise ValueError('auth: "oauth2" needs token_file (the file holding the access token) '
                             "or token_url (the token endpoint the gateway asks), not both")
        if self.token_file is not None:
            extra = [key for key in _FLOW_ONLY if getattr(self, key) is not None]
            if extra:
                raise ValueError(f"{extra[0]}: only used with token_url (token_file holds a ready access token)")
            return self
        return self._token_endpoint_fits()

    def _token_endpoint_fits(self) -> ImapSection:
        url = urlsplit(self.token_url or "")
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(f"token_url: not an http(s) URL: {self.token_url!r}")
        if url.scheme == "http" and not url.hostname.startswith(_LOOPBACK):
            raise ValueError("token_url: plain http is allowed only on loopback (the client secret and "
                             "tokens would cross the network in clear, RFC 6749 §3.2)")
        if not self.client_id:
            raise ValueError("client_id: token_url needs the client_id the endpoint knows this gateway by")
        if self.client_secret_file and self.client_secret_credential:
            raise ValueError("client_secret_file and client_secret_credential: give one source of the client secret")
        if self.refresh_token_file is None and not (self.client_secret_file or self.client_secret_credential):
            raise ValueError("client_secret_file: the client-credentials grant (no refresh_token_file, "
                             "RFC 6749 §4.4) needs a client secret (client_secret_file or client_secret_credential)")
        return self

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ImapSection:
        if self.security == "plain" and not self.host.startswith(_LOOPBACK):
            raise ValueError(f"security: plain IMAP is allowed only on loopback, not {self.host!r}")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @property
    def token_source(self) -> str:
        """What a refused token should make a person check: the file, or the endpoint."""
        return f"token_file {self.token_file}" if self.token_file is not None else f"token_url {self.token_url}"

    def client_secret(self, where: str) -> str | None:
        """The OAuth2 client secret, read now (a confidential client, RFC 6749 §2.3.1), or None (public client)."""
        if self.client_secret_credential:
            return read_credential(self.client_secret_credential, f"{where}.client_secret_credential")
        if self.client_secret_file:
            try:
                return self.client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{where}.client_secret_file: {exc}") from exc
        return None
