"""One thread per incident in the engineers' mail client, and the customer's files on its notices (issue 11).

Threading: every letter to the engineers about an incident names the first one
in In-Reply-To and References (RFC 5322 §3.6.4), and clients that thread by
subject (Outlook, Gmail) see one subject, `[INC-000123] <customer> <subject>`.
The first notice's Message-ID is derived from the incident number and the
token secret (`thread_root`), so a later notice names it without reading the
database, even in the very batch that opened the incident.

Attachments: a customer's files ride along on the notice, byte for byte, up to
`[engineers] notice_attachments_max_bytes` in total; above it each is listed
with its size and the command that fetches it from the store.
"""

from __future__ import annotations

import hashlib
import hmac
import shlex
from collections.abc import Sequence
from typing import Any

from gateway.app import App
from gateway.outbound.mime_parts import OutgoingAttachment, clean_filename
from parsers.model import Attachment


def thread_root(app: App, number: int) -> str:
    """The Message-ID of the incident's first engineer notice (bare): stable, ours (`gw.`), not guessable."""
    digest = hmac.new(app.policy.token_secret, f"engineer-thread:{number}".encode("ascii"),
                      hashlib.sha256).hexdigest()[:24]
    return f"gw.inc-{number:06d}.{digest}@{app.sender_domain}"


def engineer_subject(ref: str, customer_name: str, subject: str) -> str:
    """`[INC-000123] Demo Ltd Backup fails`: the same on every notice, so subject-threading clients agree."""
    return f"[{ref}] {customer_name} {subject}".strip()


def size_text(size: int) -> str:
    """'812 bytes', '14.2 KB', '3.5 MB' (1 KB = 1024 bytes)."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def notice_files(app: App, ref: str, files: Sequence[Attachment]) -> tuple[tuple[OutgoingAttachment, ...],
                                                                           list[dict[str, Any]]]:
    """(the files to attach, the list the notice shows): all attached if their total fits the limit, else none.

    All or none, so an engineer never wonders which file is missing; each listed
    file names the `support-gateway attachments get` command that writes it out.
    """
    limit = app.settings.engineers.notice_attachments_max_bytes
    attach = bool(files) and sum(f.size for f in files) <= limit
    listed = [{"name": clean_filename(f.filename, f.content_type), "size": size_text(f.size),
               "content_type": f.content_type, "attached": attach,
               "command": f"support-gateway attachments get {ref} {shlex.quote(clean_filename(f.filename, f.content_type))}"}
              for f in files]
    attached = tuple(OutgoingAttachment(clean_filename(f.filename, f.content_type), f.content_type, f.payload,
                                        f.content_id, f.inline, f.sha256) for f in files) if attach else ()
    return attached, listed


def relayed_files(files: Sequence[Attachment]) -> tuple[OutgoingAttachment, ...]:
    """An engineer's files as the customer receives them: every one, byte for byte, names cleaned."""
    return tuple(OutgoingAttachment(clean_filename(f.filename, f.content_type), f.content_type, f.payload,
                                    f.content_id, f.inline, f.sha256) for f in files)
