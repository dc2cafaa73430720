"""OAuth2 access tokens for an IMAP login (issue 12): read from `token_file`, or fetched from `token_url`.

With a token endpoint the gateway is an OAuth2 client (RFC 6749) of one of two kinds:

- refresh-token grant (§6): a person consented once and put the refresh token in
  `refresh_token_file`; the gateway trades it for access tokens. When the answer carries a new
  refresh token (rotation: Microsoft does so, §6 allows it) the file is rewritten, atomically and
  mode 0600, because the old one may stop working.
- client-credentials grant (§4.4): no person, the application itself is allowed into the
  mailbox (Microsoft 365 app-only IMAP access, `scope = "https://outlook.office365.com/.default"`).

An access token is kept in memory until 60 s before its `expires_in` (§5.1) runs out, so a
login rarely waits for the endpoint; a token the server refuses is dropped and a fresh one tried
once (gateway.intake.imap). Any failure to get a token is an ImapAuthError: one ERROR line and
the long back-off, the same as a refused password, since a wrong secret or a revoked grant
needs a person.

Plain urllib with a timeout: two form POSTs and a JSON answer do not justify a dependency.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from gateway.intake.imap_errors import ImapAuthError
from gateway.settings import ImapSection

log = logging.getLogger(__name__)

EXPIRY_MARGIN_SECONDS = 60.0  # a token this close to its end is not used for a new login


class TokenEndpointError(ImapAuthError):
    """The token endpoint gave no access token (unreachable, or an RFC 6749 §5.2 error such as invalid_grant)."""


def read_access_token(account: ImapSection) -> str:
    """The OAuth2 access token now in `token_file`; a missing or empty file is a refused login.

    Read at every connect, never cached: an outside agent (a cron job, a sidecar) rotates
    the file before the token expires, and the next login must use the new one.
    """
    assert account.token_file is not None  # ImapSection refuses auth="oauth2" without a token source
    try:
        token = account.token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImapAuthError(f"cannot read token_file {account.token_file}: {exc.strerror or exc}") from None
    if not token:
        raise ImapAuthError(f"token_file {account.token_file} is empty")
    return token


class AccessTokens:
    """The access tokens of one [[imap]] account, shared by the connections its poller opens."""

    def __init__(self, account: ImapSection, client_secret: str | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.account = account
        self._secret = client_secret
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: float | None = None  # monotonic seconds; None: no expires_in was given
        self._refresh_read: str | None = None  # the refresh token as last read from (or written to) its file
        self._refresh_latest: str | None = None  # the newest refresh token, should writing it back have failed
        self.fetched_last = False  # whether the last get() asked the endpoint (a refused fresh token is final)

    @property
    def refreshable(self) -> bool:
        """True when a fresh token can be asked for, so a refused login is worth one more try."""
        return self.account.token_url is not None

    def get(self) -> str:
        """An access token that is good for at least another minute, from the cache or the endpoint."""
        if self.account.token_url is None:
            self.fetched_last = False
            return read_access_token(self.account)
        with self._lock:
            now = self._monotonic()
            if self._token is not None and (self._expires_at is None
                                            or now < self._expires_at - EXPIRY_MARGIN_SECONDS):
                self.fetched_last = False
                return self._token
            self._token, self._expires_at = self._fetch(now)
            self.fetched_last = True
            return self._token

    def forget(self) -> None:
        """Drop the cached token (the server refused it: revoked, or expired early)."""
        with self._lock:
            self._token = self._expires_at = None

    # -- the token request (RFC 6749 §4.4.2, §6) ---------------------------------------------------

    def _form(self) -> dict[str, str]:
        account = self.account
        form = {"client_id": account.client_id or ""}
        if account.refresh_token_file is not None:
            form.update(grant_type="refresh_token", refresh_token=self._refresh_token())
        else:
            form["grant_type"] = "client_credentials"
        if account.scope:
            form["scope"] = account.scope
        if self._secret:
            # In the body (§2.3.1 allows it): the form Google's and Microsoft's documentation show.
            form["client_secret"] = self._secret
        return form

    def _fetch(self, now: float) -> tuple[str, float | None]:
        account = self.account
        request = urllib.request.Request(
            account.token_url or "", data=urlencode(self._form()).encode("ascii"), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=account.timeout) as response:  # noqa: S310 - https or loopback
                body = response.read()
        except urllib.error.HTTPError as exc:
            try:
                detail = _oauth_error(exc.read())
            except OSError:
                detail = ""
            raise TokenEndpointError(f"HTTP {exc.code}{detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TokenEndpointError(f"token endpoint unreachable: {reason}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise TokenEndpointError("the answer is not JSON (RFC 6749 §5.1)") from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenEndpointError("the answer has no access_token (RFC 6749 §5.1)")
        if str(answer.get("token_type", "bearer")).lower() != "bearer":
            raise TokenEndpointError(f"token_type {answer.get('token_type')!r} is not bearer (RFC 6750)")
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated and account.refresh_token_file is not None:
            self._keep_refresh_token(rotated)
        lifetime = _seconds(answer.get("expires_in"))
        log.info("imap[%s]: got an OAuth2 access token from %s%s", account.name, account.token_url,
                 f" (expires in {lifetime:.0f} s)" if lifetime is not None else "")
        return token, (now + lifetime if lifetime is not None else None)

    # -- the refresh token's file ------------------------------------------------------------------

    def _refresh_token(self) -> str:
        path = self.account.refresh_token_file
        assert path is not None
        try:
            on_disk = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenEndpointError(f"cannot read refresh_token_file {path}: {exc.strerror or exc}") from None
        if not on_disk:
            raise TokenEndpointError(f"refresh_token_file {path} is empty")
        if on_disk != self._refresh_read:  # a person put a new one there: it wins
            self._refresh_read, self._refresh_latest = on_disk, on_disk
        return self._refresh_latest or on_disk

    def _keep_refresh_token(self, token: str) -> None:
        path = self.account.refresh_token_file
        assert path is not None
        self._refresh_latest = token
        if token == self._refresh_read:
            return
        try:
            write_secret_atomically(path, token)
        except OSError as exc:
            log.error("imap[%s]: could not write the rotated refresh token to %s: %s (kept in memory until "
                      "the daemon stops; make the file's folder writable for the service)",
                      self.account.name, path, exc.strerror or exc)
            return
        self._refresh_read = token


def write_secret_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`, mode 0600: a crash leaves the old file or the new, never half of one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def _seconds(value: object) -> float | None:
    """expires_in (RFC 6749 §5.1): a number of seconds; some endpoints send it as a string. None: not given."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _oauth_error(body: bytes) -> str:
    """`: invalid_grant: AADSTS70000 ...` from an RFC 6749 §5.2 error answer, or its first bytes."""
    try:
        answer = json.loads(body)
    except ValueError:
        text = body[:200].decode("utf-8", "replace").strip()
        return f": {text}" if text else ""
    if not isinstance(answer, dict):
        return ""
    error, description = answer.get("error"), answer.get("error_description")
    return "".join(f": {part}" for part in (error, description) if part)
