"""One IMAP connection for one poller thread: the few commands intake needs, with timeouts and UIDs only.

imapclient is not thread-safe, so a connection belongs to the one thread that
opened it. Every command is a UID command (imapclient's `use_uid=True`):
sequence numbers shift under expunges from other clients, UIDs do not
(RFC 3501 §2.3.1.1, RFC 9051 §2.3.1.1). Bodies are read with BODY.PEEK[], which
never sets `\\Seen` (RFC 3501 §6.4.5), so the humans sharing the mailbox see
their unread mail as unread.

Errors are sorted into two kinds the poller treats differently: a refused
login (ImapAuthError: a long back-off, no hammering a wrong password) and
everything else (network trouble, a server that went away, NO/BAD answers:
reconnect with exponential back-off).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from gateway.intake.imap_errors import ImapAuthError
from gateway.intake.imap_oauth import AccessTokens
from gateway.settings import ImapSection

log = logging.getLogger(__name__)

IMPORTED_KEYWORD = "$SupportGatewayImported"  # flag mode: a keyword humans can see and search for
IDLE_TICK_SECONDS = 0.5  # how often an IDLE wait looks at the stop flag
# RFC 5530 response codes of a refused LOGIN that say "not your password, try again later".
_TRANSIENT_LOGIN_CODES = ("[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]")


@dataclass(frozen=True)
class Selected:
    uidvalidity: int
    exists: int


@dataclass(frozen=True)
class Fetched:
    """What FETCH gave for one UID: the bytes, or why not."""

    uid: int
    size: int
    raw: bytes | None  # None: unreadable
    error: str | None = None


class ImapConnection:
    def __init__(self, account: ImapSection, password: str, tokens: AccessTokens | None = None) -> None:
        self.account = account
        self._password = password
        self._tokens = tokens or AccessTokens(account)
        self._client: IMAPClient | None = None
        self._folders: set[str] = set()
        self._mailbox: str | None = None
        self._selected: Selected | None = None

    # -- session -------------------------------------------------------------------------------

    def open(self) -> None:
        """Connect (implicit TLS, STARTTLS or loopback plain), log in, learn the capabilities."""
        account = self.account
        # The token first: no server connection waits idle while the token endpoint answers.
        token = self._tokens.get() if account.auth == "oauth2" else None
        context = ssl.create_default_context() if account.security != "plain" else None
        client = IMAPClient(account.host, port=account.effective_port, ssl=account.security == "tls",
                            ssl_context=context, timeout=account.timeout)
        try:
            if account.security == "starttls":
                client.starttls(context)  # RFC 3501 §6.2.1; refuses to go on in clear if it fails
            try:
                if token is not None:
                    self._bearer_login(client, token)
                else:
                    client.login(account.user, self._password)
            except LoginError as exc:
                if any(code in str(exc) for code in _TRANSIENT_LOGIN_CODES):
                    raise ConnectionError(f"login failed for now: {_text(exc)}") from None
                raise ImapAuthError(_text(exc)) from None
        except BaseException:
            client.shutdown()
            raise
        self._client = client
        self._folders = set()

    def _bearer_login(self, client: IMAPClient, token: str) -> None:
        """SASL XOAUTH2 (Google's and Microsoft's) or OAUTHBEARER (RFC 7628 §3.1) with the current access token."""
        if self.account.sasl == "oauthbearer":
            client.oauthbearer_login(self.account.user, token)
        else:
            client.oauth2_login(self.account.user, token)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - closing a broken connection: nothing left to save
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client

    def has(self, capability: str) -> bool:
        return bool(self.client.has_capability(capability))

    # -- reading -------------------------------------------------------------------------------

    def select(self, mailbox: str) -> Selected:
        info = self.client.select_folder(mailbox)
        self._selected = Selected(uidvalidity=int(info[b"UIDVALIDITY"]), exists=int(info.get(b"EXISTS", 0)))
        self._mailbox = mailbox
        return self._selected

    def _reopen(self) -> None:
        """Reconnect and reselect after the server hung up on one command; the UIDs must still hold."""
        before = self._selected
        self.close()
        self.open()
        if self._mailbox is not None and before is not None:
            if self.select(self._mailbox).uidvalidity != before.uidvalidity:
                raise ConnectionError("UIDVALIDITY changed while reconnecting; the poll starts over")

    def pending_uids(self, *, flag_mode: bool, larger_than: int | None = None) -> list[int]:
        """UIDs still to import: all but deleted ones, or, in flag mode, all without our keyword.

        Deliberately not `UNSEEN`: mail a person already read elsewhere is still ours to import.
        With `larger_than`, only those over that many octets (SEARCH LARGER, RFC 3501 §6.4.4):
        one command per poll finds the oversize mail, instead of a size FETCH per batch.
        """
        criteria: list[str | int] = ["NOT", "DELETED"]
        if flag_mode:
            criteria += ["NOT", "KEYWORD", IMPORTED_KEYWORD]
        if larger_than is not None:
            criteria += ["LARGER", larger_than]
        return sorted(int(uid) for uid in self.client.search(criteria))

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """RFC822.SIZE per UID, so an oversize mail is known before its body is read."""
        if not uids:
            return {}
        return {int(uid): int(data[b"RFC822.SIZE"])
                for uid, data in self.client.fetch(list(uids), ["RFC822.SIZE"]).items()
                if b"RFC822.SIZE" in data}

    def fetch(self, uids: Sequence[int], sizes: dict[int, int], *, header_only: bool = False) -> list[Fetched]:
        """BODY.PEEK[] (or BODY.PEEK[HEADER]) for a batch; a failing batch is retried one by one.

        A UID missing from the answer was expunged by someone else meanwhile: left out.
        Dovecot answers a message it cannot read with BYE and hangs up, so after a
        failure the connection is reopened before the next try: one unreadable
        mail costs a reconnect, never the rest of the batch.
        """
        if not uids:
            return []
        item, key = ("BODY.PEEK[HEADER]", b"BODY[HEADER]") if header_only else ("BODY.PEEK[]", b"BODY[]")
        try:
            answer = self.client.fetch(list(uids), [item])
        except IMAPClientError as exc:
            if isinstance(exc, IMAPClientAbortError):
                self._reopen()
            if len(uids) == 1:
                return [Fetched(uids[0], sizes.get(uids[0], 0), None, _text(exc))]
            log.warning("imap[%s]: FETCH of %d messages failed (%s); fetching one by one",
                        self.account.name, len(uids), _text(exc))
            return [one for uid in uids for one in self.fetch([uid], sizes, header_only=header_only)]
        found = []
        for uid in uids:
            data = answer.get(uid)
            if data is None:
                continue
            raw = data.get(key)
            if raw is None:
                found.append(Fetched(uid, sizes.get(uid, 0), None, "FETCH answer without the message body"))
            else:
                found.append(Fetched(uid, sizes.get(uid, len(raw)), bytes(raw)))
        return found

    # -- disposing of imported mail --------------------------------------------------------------

    def dispose(self, uids: Sequence[int], *, flag_mode: bool, folder: str) -> None:
        """Take committed mail out of the way: move it to `folder`, or set our keyword."""
        if not uids:
            return
        if flag_mode:
            self.client.add_flags(list(uids), [IMPORTED_KEYWORD], silent=True)
            return
        self._ensure_folder(folder)
        if self.has("MOVE"):
            self.client.move(list(uids), folder)  # RFC 6851 UID MOVE: atomic
            return
        # RFC 6851 §3.3's fallback: COPY, mark \Deleted, then expunge exactly these UIDs (RFC 4315
        # UID EXPUNGE). Without UIDPLUS a plain EXPUNGE would also remove what people deleted, so
        # the originals stay flagged \Deleted and the next SEARCH (NOT DELETED) skips them.
        self.client.copy(list(uids), folder)
        self.client.add_flags(list(uids), [b"\\Deleted"], silent=True)
        if self.has("UIDPLUS"):
            self.client.uid_expunge(list(uids))

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._folders:
            return
        if not self.client.folder_exists(folder):
            log.info("imap[%s]: creating folder %r for processed mail", self.account.name, folder)
            try:
                self.client.create_folder(folder)
            except IMAPClientError:
                if not self.client.folder_exists(folder):  # another client made it meanwhile: fine
                    raise
            self.client.subscribe_folder(folder)  # so people's mail clients show it
        self._folders.add(folder)

    # -- waiting ---------------------------------------------------------------------------------

    def idle(self, stop: threading.Event, seconds: float) -> bool:
        """IDLE (RFC 2177) until the server reports EXISTS; False on timeout or stop.

        The caller keeps `seconds` under 29 minutes: RFC 2177 §3 asks clients to
        re-issue IDLE at least that often, since servers may log idle clients off
        after 30 minutes (RFC 3501 §5.4).
        """
        client = self.client
        client.idle()
        woken = False
        quiet_returns = 0
        try:
            deadline = time.monotonic() + seconds
            while not woken and not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                tick = min(IDLE_TICK_SECONDS, remaining)
                started = time.monotonic()
                responses = client.idle_check(timeout=tick)
                woken = any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses)
                # imapclient's idle_check swallows EOF and returns nothing at once: a closed
                # socket would spin here. An early empty return means the server went away.
                if not responses and time.monotonic() - started < tick / 2:
                    quiet_returns += 1
                    if quiet_returns >= 3:
                        raise ConnectionError("connection closed by the server during IDLE")
        finally:
            client.idle_done()
        return woken

    def noop(self) -> None:
        self.client.noop()


def _text(exc: BaseException) -> str:
    """imapclient errors carry bytes reprs: b'[AUTHENTICATIONFAILED] ...' → the plain text."""
    text = str(exc)
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text

