"""Where outgoing mail goes: a local folder (the embedded default) or an SMTP relay.

Each transport delivers a batch and reports one Outcome per message: sent,
temporary failure (retry later) or permanent failure (dead, with the reply).
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential


@dataclass(frozen=True)
class Parcel:
    """One message as the transport sees it."""

    outbox_id: int
    name: str  # a file-name-safe label, e.g. "000001-ack-INC-000001"
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    attempts: int = 1  # including this one
    message_id: str = ""  # ours, bare
    smtputf8: bool = False  # RFC 6531: an envelope address is not ASCII, so only an SMTPUTF8 relay may take it
    created_at: datetime | None = None  # when it was queued: the sender gives up after the queue lifetime


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent" | "retry" | "dead"
    detail: str = ""
    relay_message_id: str | None = None  # the Message-ID the relay says it gave the mail, if it rewrote ours
    # False when the message never reached a relay's MAIL FROM (relay unreachable, refused our login, the
    # connection gone before its turn, a folder that cannot be written): the sender does not count such a
    # try as a delivery attempt, as an MTA does not (issue 10 item 7).
    tried: bool = True


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


SENT = "sent"
RETRY = "retry"
DEAD = "dead"


# Told each outcome as soon as it is known, so the sender can record it before the next message goes.
OnOutcome = Callable[[Parcel, "Outcome"], None]


class Transport(Protocol):
    def deliver(self, parcels: list[Parcel], on_outcome: OnOutcome | None = None) -> list[Outcome]: ...


class FolderTransport:
    """Writes each message as one .eml file; the file name carries the outbox id, so a re-send overwrites.

    Each file is written under a temporary name, fsynced and renamed, so a reader
    of the folder never sees half a message; the folder itself is fsynced once
    per batch after the renames, so a message reported sent survives a power cut
    (a rename is only durable once its directory is).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deliver(self, parcels: list[Parcel], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        # The folder's durability point is the fsync after the whole batch: outcomes are returned, not told one by one.
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. a file where the folder should be: retried, with the reason
            return [Outcome(RETRY, f"cannot write to {self.folder}: {exc}", tried=False)] * len(parcels)
        outcomes = []
        for parcel in parcels:
            try:
                self._write(parcel)
                outcomes.append(Outcome(SENT))
            except OSError as exc:
                outcomes.append(Outcome(RETRY, f"cannot write to {self.folder}: {exc}", tried=False))
        try:
            self._sync_folder()
        except OSError as exc:  # the renames may not be durable: report every file for a retry
            return [Outcome(RETRY, f"cannot sync {self.folder}: {exc}")] * len(parcels)
        return outcomes

    def _write(self, parcel: Parcel) -> None:
        final = self.folder / f"{parcel.name}.eml"
        temporary = self.folder / f".{parcel.name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(parcel.raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)

    def _sync_folder(self) -> None:
        descriptor = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


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


class SmtpRelayTransport:
    """Delivers a batch over one relay connection: 2xx sent, 4xx/network retry, 5xx dead."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config

    def deliver(self, parcels: list[Parcel], on_outcome: OnOutcome | None = None) -> list[Outcome]:
        """Send each parcel in turn; `on_outcome` hears of each one as the relay answers it, so that a
        crash mid-batch re-sends at most the one message whose answer was lost (issue 10 item 5)."""
        try:
            client = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            # A wrong password is the operator's to fix: retry later, do not bounce mail.
            return [Outcome(RETRY, f"relay authentication failed: {exc.smtp_code} {_text(exc.smtp_error)}",
                            tried=False)] * len(parcels)
        except (OSError, smtplib.SMTPException) as exc:
            return [Outcome(RETRY, f"relay {self.config.host}:{self.config.port} unreachable: {exc}",
                            tried=False)] * len(parcels)
        outcomes: list[Outcome] = []
        try:
            for parcel in parcels:
                outcome = self._send_one(client, parcel)
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(parcel, outcome)
                if outcome.status == RETRY and outcome.detail.startswith("connection"):
                    break
        finally:
            _quit(client)
        missing = len(parcels) - len(outcomes)
        return outcomes + [Outcome(RETRY, "connection lost before sending", tried=False)] * missing

    @retry(
        retry=retry_if_exception_type((ConnectionError, socket.timeout, smtplib.SMTPConnectError)),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def _connect(self) -> smtplib.SMTP:
        """Connect, with a few quick retries for a relay that is restarting (tenacity)."""
        config = self.config
        # Certificates are always verified; a private relay's CA can be given as ca_file.
        context = ssl.create_default_context(cafile=config.ca_file)
        client: smtplib.SMTP
        if config.tls:
            client = _TLSClient(config.host, config.port, timeout=config.timeout,
                                local_hostname=config.local_hostname, context=context)
        else:
            client = _Client(config.host, config.port, timeout=config.timeout,
                             local_hostname=config.local_hostname)
        try:
            client.ehlo()
            if config.starttls:
                client.starttls(context=context)
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
