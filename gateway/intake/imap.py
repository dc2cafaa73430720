"""IMAP intake: one poller per [[imap]] account, each on its own worker thread with its own connection.

The thread owns the connection (imapclient is not thread-safe) and loops:
poll the mailbox (gateway/intake/imap_poll.py), then wait for mail — IDLE (RFC 2177)
where the server has it and the account allows it, else sleep poll_interval —
and poll again. Database writes are handed to the daemon's database workers, so
SQLite keeps its single writer.

Failures never end the thread. Network trouble and server errors mean
reconnect with exponential back-off (tenacity); a refused login means one
clear ERROR line and a long back-off, since retrying a wrong password quickly
only gets the account locked. Every failure and every good poll is written to
the mailbox's health row, which `support-gateway status` shows.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_not_exception_type, wait_exponential_jitter

from gateway.clock import Clock
from gateway.database import Database
from gateway.intake.imap_conn import ImapConnection
from gateway.intake.imap_errors import ImapAuthError
from gateway.intake.imap_oauth import AccessTokens, TokenEndpointError
from gateway.intake.imap_lease import LeaseLost, MailboxLease
from gateway.intake.imap_ledger import record_failure
from gateway.intake.imap_poll import PollContext, PollStats, SubmitDb, poll_mailbox, run_here
from gateway.settings import ImapSection, Settings, SettingsError

log = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 28 * 60  # RFC 2177 §3: re-issue IDLE at least every 29 minutes
QUICK_SESSION_SECONDS = 60.0  # a session that fails sooner than this counts towards a pause
# Polls by (account, outcome) since this process started, for /metrics (gateway.daemon.metrics):
# the pollers run in the daemon itself, so a counter in memory is what Prometheus wants here.
POLLS_BY_OUTCOME: Counter[tuple[str, str]] = Counter()
POLL_OK, POLL_AUTH_FAILED, POLL_ERROR = "ok", "auth-failed", "error"


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0  # first reconnect delay after a network error; doubles up to `max`
    max: float = 300.0
    auth: float = 900.0  # after a refused login: a person has to fix the password or the OAuth2 token first


class _Stopped(Exception):
    """The daemon is stopping: leave the retry loop."""


class ImapPoller:
    """Polls one account's mailbox until `stop` is set. run() is the thread body; poll_once() is for tests."""

    def __init__(self, account: ImapSection, password: str, sessions: sessionmaker[Session], clock: Clock, *,
                 max_size: int, submit_db: SubmitDb = run_here, on_batch: Callable[[], None] = lambda: None,
                 stop: threading.Event | None = None, backoff: Backoff = Backoff(), node: str | None = None) -> None:
        self.account, self._password, self.backoff = account, password, backoff
        self.stop = stop or threading.Event()

        def after_batch() -> None:  # committed: renew the lease before the batch is moved
            if self.lease is not None:
                self.lease.renew()
            on_batch()

        self.ctx = PollContext(account, sessions, submit_db, clock, max_size, after_batch, self.stop)
        # With a node name, only the holder of the account's lease polls (issue 15, gateway.intake.imap_lease).
        self.lease: MailboxLease | None = MailboxLease(self.ctx, node) if node is not None else None
        self._conn: ImapConnection | None = None
        # For auth = "oauth2" the secret handed in is the token endpoint's client secret, if any.
        self.tokens = AccessTokens(account, (password or None) if account.auth == "oauth2" else None)
        self._network_wait = wait_exponential_jitter(initial=backoff.first, max=backoff.max, jitter=backoff.first)

    # -- one poll (tests, tools) -----------------------------------------------------------------

    def poll_once(self) -> PollStats:
        """Connect if needed and import what is waiting; a failure drops the connection and is raised."""
        try:
            if self._conn is None:
                self._conn = self._connect()
            return self._poll(self._conn)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- the thread body -------------------------------------------------------------------------

    def run(self) -> None:
        """Poll, wait for mail, poll again; reconnect with back-off; return once `stop` is set."""
        log.info("imap[%s]: polling %r at %s:%s as %s (%s mode)", self.account.name, self.account.mailbox,
                 self.account.host, self.account.effective_port, self.account.user, self.account.mode)
        quick_failures = 0
        while not self.stop.is_set():
            if self.lease is not None and not self.lease.wait_until_held(self.stop):
                break
            started = time.monotonic()
            try:
                self._retrying()(self._start)
                self._session()
            except _Stopped:
                break
            except LeaseLost:
                continue  # another node polls now; stand by (the connection is closed below)
            except Exception as exc:  # noqa: BLE001 - the connection broke after a good start
                self._note_failure(exc, None)
                # One drop: reconnect at once. A session that breaks soon after every good start
                # (say, IDLE refused) must not become a login loop: pause, longer each time.
                quick_failures = quick_failures + 1 if time.monotonic() - started < QUICK_SESSION_SECONDS else 0
                if quick_failures >= 2:
                    self.stop.wait(min(self.backoff.first * 2 ** (quick_failures - 2), self.backoff.max))
            finally:
                self.close()
        if self.lease is not None:
            self.lease.release()  # a clean stop: a standby node takes over at once
        log.info("imap[%s]: stopped", self.account.name)

    def _retrying(self) -> Retrying:
        return Retrying(retry=retry_if_not_exception_type((_Stopped, LeaseLost)), wait=self._wait, sleep=self._sleep,
                        before_sleep=self._before_sleep, reraise=True)

    def _start(self) -> None:
        if self.lease is not None:
            self.lease.renew()  # a back-off may have outlasted the lease
        self._conn = self._connect()
        self._drain()

    def _session(self) -> None:
        while not self.stop.is_set():
            if self.lease is not None:
                self.lease.renew()
            self._wait_for_mail()
            if self.stop.is_set():
                return
            self._drain()

    def _drain(self) -> None:
        """Poll until a poll finds nothing more to do (mail may arrive while we work)."""
        while not self.stop.is_set():
            assert self._conn is not None
            if self._poll(self._conn).progress == 0:
                return

    def _poll(self, conn: ImapConnection) -> PollStats:
        stats = poll_mailbox(conn, self.ctx)
        POLLS_BY_OUTCOME[(self.account.name, POLL_OK)] += 1
        return stats

    def _wait_for_mail(self) -> None:
        conn = self._conn
        assert conn is not None
        interval = self.account.poll_interval if self.lease is None else min(self.account.poll_interval,
                                                                             self.lease.renew_every)
        if self.account.idle and conn.has("IDLE"):
            # Also bounded by poll_interval: a cheap safety net for a notification the server missed.
            conn.idle(self.stop, min(interval, IDLE_RENEW_SECONDS))
        else:
            self.stop.wait(interval)

    def _connect(self) -> ImapConnection:
        """Open and log in; a refused cached OAuth2 token is dropped and a fresh one tried once."""
        conn = ImapConnection(self.account, self._password, self.tokens)
        try:
            conn.open()
        except ImapAuthError as exc:
            if self.account.auth != "oauth2" or not self.tokens.refreshable or isinstance(exc, TokenEndpointError):
                raise
            self.tokens.forget()  # refused: revoked, or expired before its expires_in
            if self.tokens.fetched_last:
                raise  # a token fresh from the endpoint: another one will not fare better
            log.info("imap[%s]: the server refused the cached OAuth2 access token (%s); asking %s for a "
                     "fresh one", self.account.name, exc, self.account.token_url)
            conn = ImapConnection(self.account, self._password, self.tokens)
            conn.open()
        return conn

    # -- back-off --------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.backoff.auth if isinstance(error, ImapAuthError) else float(self._network_wait(state))

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped

    def _before_sleep(self, state: RetryCallState) -> None:
        self.close()
        error = state.outcome.exception() if state.outcome else None
        self._note_failure(error, state.next_action.sleep if state.next_action else None)

    def _note_failure(self, error: BaseException | None, retry_in: float | None) -> None:
        account = self.account
        POLLS_BY_OUTCOME[(account.name, POLL_AUTH_FAILED if isinstance(error, ImapAuthError) else POLL_ERROR)] += 1
        when = f"; next attempt in {retry_in:.0f} s" if retry_in is not None else "; reconnecting"
        if isinstance(error, TokenEndpointError):
            text = f"no OAuth2 access token for {account.user} from token_url {account.token_url}: {error}"
            log.error("imap[%s]: %s (check client_id, the client secret and the refresh token)%s",
                      account.name, text, when)
        elif isinstance(error, ImapAuthError):
            text = f"authentication failed for {account.user} at {account.host}:{account.effective_port}: {error}"
            hint = f"check the {account.token_source}" if account.auth == "oauth2" else "check the password"
            log.error("imap[%s]: %s (%s)%s", account.name, text, hint, when)
        else:
            text = f"{type(error).__name__}: {error}"
            log.warning("imap[%s]: %s%s", account.name, text, when)
        try:
            self.ctx.run_db(record_failure, self.ctx.sessions, account.name, account.mailbox, text,
                            self.ctx.clock.now())
        except Exception:  # noqa: BLE001 - the store may be the trouble; the log line above stands
            log.exception("imap[%s]: could not record the failure in the health row", account.name)


# -- the daemon's side -------------------------------------------------------------------------------


def imap_credentials(settings: Settings) -> list[tuple[ImapSection, str]]:
    """Each [[imap]] account with its secret, read now so a missing secret stops the start-up.

    The secret is the password, or for auth = "oauth2" the token endpoint's client secret ("" when
    there is none: a token_file, or a public client); the access token itself is fetched at login.
    """
    found = []
    for index, account in enumerate(settings.imap):
        password = account.password(f"imap[{index}]")
        if account.auth == "oauth2":
            password = account.client_secret(f"imap[{index}]") or ""
        if password is None:
            raise SettingsError(f"imap[{index}]: password_env or password_file is required")
        found.append((account, password))
    return found


async def serve_imap(account: ImapSection, password: str, database: Database, clock: Clock, *, max_size: int,
                     wake: Callable[[], None], stop: asyncio.Event,
                     started: Callable[[], None] = lambda: None, node: str | None = None) -> None:
    """Run one poller on its own thread until `stop` is set; the batch in hand is finished first.

    `started()` is called once the thread runs, before it connects: a server that is
    down is the poller's to retry, and must not hold up the daemon's READY.
    """
    loop = asyncio.get_running_loop()

    def submit_db(work: Callable[..., Any], *args: object) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(database.run(work, *args), loop)

    poller = ImapPoller(account, password, database.sessions, clock, max_size=max_size, submit_db=submit_db,
                        on_batch=lambda: loop.call_soon_threadsafe(wake), node=node)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"imap-{account.name}")
    work = loop.run_in_executor(executor, poller.run)  # the executor has started its thread on return
    started()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        poller.stop.set()
        stopping.cancel()
        await asyncio.shield(work)
        executor.shutdown(wait=False)
