"""The sender's journal: each relay answer written to a local file the moment it comes.

Issue 10 item 5 asks that a crash re-send at most the letter on the wire, so every delivery
must be on record before the next one goes. A database commit per letter did that, but on
SQLite it waits for the write lock the processor holds, and the sender fell behind 200 mails a
second (250 → acknowledgement at the relay, p99 2–3 s). An MTA keeps such facts in its own queue
files; so does the sender: one write(2) of one line per answer (it survives the process being
killed, the kernel has it), and the lines of a batch go to the database in one transaction after
the batch, then the file is emptied. Each work process has its own file; one that starts applies
what the journals of this node's dead work processes still hold before anything else
(gateway.outbound.sender.recover_journals), so nothing is sent twice for being forgotten. A power cut may lose the last lines (no fsync): those letters go again, with the
same Message-ID — a duplicate, never a loss, the trade-off Postfix makes when it removes a
delivered queue file without syncing the directory.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from gateway.outbound.transports import Outcome, Parcel


class SentJournal:
    """Append-only lines of (parcel, outcome, when); one file per node in the data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        # Whether lines may wait to reach the outbox: the sender then need not read the file at
        # every step (gateway.outbound.sender.apply_journal), only after it wrote to it.
        self.unapplied = os.fstat(self._fd).st_size > 0

    def close(self, *, remove_if_empty: bool = False) -> None:
        os.close(self._fd)
        if remove_if_empty and self.path.exists() and self.path.stat().st_size == 0:
            self.path.unlink()

    def append(self, parcel: Parcel, outcome: Outcome, at: datetime) -> None:
        line = json.dumps({
            "id": parcel.outbox_id, "attempts": parcel.attempts,
            "created_at": parcel.created_at.isoformat() if parcel.created_at else None,
            "status": outcome.status, "detail": outcome.detail, "tried": outcome.tried,
            "relay_message_id": outcome.relay_message_id, "at": at.isoformat()}, ensure_ascii=False)
        os.write(self._fd, (line + "\n").encode())  # one write: whole lines only
        self.unapplied = True

    def pending(self) -> list[tuple[Parcel, Outcome, datetime]]:
        """What the journal holds, in order; a torn last line (a power cut mid-write) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            created = datetime.fromisoformat(entry["created_at"]) if entry["created_at"] else None
            entries.append((Parcel(entry["id"], "", "", (), b"", entry["attempts"], created_at=created),
                            Outcome(entry["status"], entry["detail"], entry["relay_message_id"], entry["tried"]),
                            datetime.fromisoformat(entry["at"])))
        return entries

    def clear(self) -> None:
        os.ftruncate(self._fd, 0)
        self.unapplied = False


def journal_path(data_dir: Path, node: str, pid: int, generation: str) -> Path:
    """One journal per work process: an orphaned one (its daemon was killed) may still be
    draining its sends while its successor starts, and the two must not share a file."""
    return data_dir / f"{journal_prefix(node)}{pid}-{generation}.journal"


def journal_prefix(node: str) -> str:
    return f"sender-{''.join(c if c.isalnum() or c in '-_.' else '_' for c in node)}-"


def left_behind(data_dir: Path, node: str) -> list[tuple[Path, int, str]]:
    """This node's journal files: (path, pid, generation), oldest name first."""
    prefix, found = journal_prefix(node), []
    for path in sorted(data_dir.glob(f"{prefix}*.journal")):
        pid, _, generation = path.name[len(prefix):-len(".journal")].partition("-")
        if pid.isdigit():
            found.append((path, int(pid), generation))
    return found
