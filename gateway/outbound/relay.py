"""Delivery to an SMTP relay (Postfix, Exchange Online, SES …): one connection per batch, or kept.

Split from gateway.outbound.transports (the folder transport and what every transport shares),
so each stays under the module size the layout test allows.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from gateway.outbound.transports import DEAD, RETRY, SENT, OnOutcome, Outcome, Parcel

# Relays that rewrite Message-ID (Exchange Online, SES, …) name the new one in the final 250 reply,
# e.g. "250 2.0.0 Ok <id@relay.example> queued".
_REPLY_MESSAGE_ID = re.compile(r"<([^<>@\s]+@[^<>@\s]+)>")


def relay_message_id(reply: str, ours: str) -> str | None:
    """The bare Message-ID a relay's 250 reply names, when it is not the one we wrote."""
    match = _REPLY_MESSAGE_ID.search(reply)
    if match is None or match.group(1) == ours:
        return None
    return match.group(1)


class _RemembersDataReply:
    """An SMTP client that keeps the text of its last DATA reply (smtplib.sendmail drops it)."""

    last_data_reply: bytes = b""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)  # type: ignore[misc]
        self.last_data_reply = reply
        return code, reply


class _Client(_RemembersDataReply, smtplib.SMTP):
    pass


class _TLSClient(_RemembersDataReply, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class RelayConfig:
    host: str
    port: int
    starttls: bool = False
    tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    local_hostname: str | None = None
    ca_file: str | None = None
    keep_open_seconds: float = 0.0  # reuse a connection between batches (the daemon: REUSE_IDLE_SECONDS)


# How long a relay connection is kept open between batches for the next one, as Postfix's
# connection cache does (smtp_connection_cache_time_limit = 2 s): at a steady 200 mails a second
# most batches are small, and a new connection (TCP, banner, EHLO, perhaps STARTTLS and AUTH,
# QUIT) per batch would cost more than the mail.
REUSE_IDLE_SECONDS = 2.0


class SmtpRelayTransport:
    """Delivers a batch over one relay connection: 2xx sent, 4xx/network retry, 5xx dead.

    Used by the one sender thread of a work process; with `keep_open_seconds` the connection of the
    last batch is reused for the next one within that time, after an RSET shows it still answers
    (whoever keeps connections open calls close() at the end).
    """

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self._context: ssl.SSLContext | None = None  # built once: loading the CA store costs ~20 ms
        self._idle: tuple[smtplib.SMTP, float] | None = None

    def close(self) -> None:
        """QUIT the connection kept for reuse, if any (the sender stops)."""
        if self._idle is not None:
            _quit(self._idle[0])
            self._idle = None

    def deliver(self, parcels: list[Parcel], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        """Send each parcel in turn; `on_outcome` hears of each one as the relay answers it, so that a
        crash mid-batch re-sends at most the one message whose answer was lost (issue 10 item 5)."""
        try:
            client = self._take()
        except smtplib.SMTPAuthenticationError as exc:
            # A wrong password is the operator's to fix: retry later, do not bounce mail.
            return [Outcome(RETRY, f"relay authentication failed: {exc.smtp_code} {_text(exc.smtp_error)}",
                            tried=False)] * len(parcels)
        except (OSError, smtplib.SMTPException) as exc:
            return [Outcome(RETRY, f"relay {self.config.host}:{self.config.port} unreachable: {exc}",
                            tried=False)] * len(parcels)
        outcomes: list[Outcome] = []
        healthy = False
        try:
            for parcel in parcels:
                outcome = self._send_one(client, parcel)
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(parcel, outcome)
                if outcome.status == RETRY and outcome.detail.startswith("connection"):
                    break
            else:
                healthy = True
        finally:
            if healthy and self.config.keep_open_seconds > 0:
                self._idle = (client, time.monotonic())
            else:
                _quit(client)
        missing = len(parcels) - len(outcomes)
        return outcomes + [Outcome(RETRY, "connection lost before sending", tried=False)] * missing

    @retry(
        retry=retry_if_exception_type((ConnectionError, socket.timeout, smtplib.SMTPConnectError)),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def _take(self) -> smtplib.SMTP:
        """The last batch's connection if it is fresh and still answers RSET, else a new one."""
        if self._idle is not None:
            client, since = self._idle
            self._idle = None
            if time.monotonic() - since <= self.config.keep_open_seconds:
                try:
                    if client.rset()[0] == 250:
                        return client
                except (OSError, smtplib.SMTPException):
                    pass
            _quit(client)
        return self._connect()

    def _tls_context(self) -> ssl.SSLContext:
        # Certificates are always verified; a private relay's CA can be given as ca_file.
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self.config.ca_file)
        return self._context

    def _connect(self) -> smtplib.SMTP:
        """Connect, with a few quick retries for a relay that is restarting (tenacity)."""
        config = self.config
        client: smtplib.SMTP
        if config.tls:
            client = _TLSClient(config.host, config.port, timeout=config.timeout,
                                local_hostname=config.local_hostname, context=self._tls_context())
        else:
            client = _Client(config.host, config.port, timeout=config.timeout,
                             local_hostname=config.local_hostname)
        try:
            client.ehlo()
            if config.starttls:
                client.starttls(context=self._tls_context())
                client.ehlo()
            if config.username:
                client.login(config.username, config.password or "")
        except BaseException:
            _quit(client)
            raise
        return client

    def _send_one(self, client: smtplib.SMTP, parcel: Parcel) -> Outcome:
        options: list[str] = []
        if parcel.smtputf8:
            if not client.has_extn("smtputf8"):  # RFC 6531 §3.4: the mail cannot be downgraded, so it fails
                return Outcome(DEAD, f"relay {self.config.host}:{self.config.port} does not offer SMTPUTF8, which "
                                     "mail to a non-ASCII address needs (RFC 6531); use a relay that does")
            options.append("SMTPUTF8")
        try:
            refused = client.sendmail(parcel.mail_from, list(parcel.rcpt_tos), parcel.raw, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            return _by_code(min(code for code, _ in exc.recipients.values()),
                            "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()))
        except smtplib.SMTPResponseException as exc:
            _reset(client)
            return _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            return Outcome(RETRY, f"connection lost: {exc}")
        rewritten = relay_message_id(_text(getattr(client, "last_data_reply", b"")), parcel.message_id)
        if refused:
            detail = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refused.items())
            return Outcome(SENT, f"partly refused: {detail}", rewritten)
        return Outcome(SENT, relay_message_id=rewritten)


def _by_code(code: int, detail: str) -> Outcome:
    return Outcome(DEAD if 500 <= code < 600 else RETRY, detail)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reset(client: smtplib.SMTP) -> None:
    try:
        client.rset()
    except (OSError, smtplib.SMTPException):
        pass


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()
