"""Where outgoing mail goes: a local folder (the embedded default) or an SMTP relay (gateway.outbound.relay).

Each transport delivers a batch and reports one Outcome per message: sent,
temporary failure (retry later) or permanent failure (dead, with the reply).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


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
