"""`support-gateway attachments list|get INC-… [NAME]`: the files of an incident, byte for byte from the store.

An engineers' notice lists a customer's files instead of attaching them when
they are over `[engineers] notice_attachments_max_bytes` (issue 11), with the
`attachments get` command that writes one out. Files are stored once by content
(attachment_blobs, keyed by sha256); NAME is the name the notice shows (the
cleaned name, gateway.outbound.mime_parts) or the name as the sender wrote it.
An unknown incident or name is a clear error and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.ops import views
from gateway.ops.cli_common import emit, settings_of
from gateway.outbound.mime_parts import clean_filename
from store.incidents import AttachmentBlob, Incident, IncidentMessage, MessageAttachment

NOT_FOUND = 2


def incident_files(session: Session, number: int) -> list[dict[str, Any]]:
    """Every file the incident's mail brought, oldest first: name (as shown), stored name, size, sha256, sender.

    Our letters that carried a file (a notice, a relayed answer) name the same
    blob; they are not listed again.
    """
    rows = session.execute(
        select(MessageAttachment, IncidentMessage.direction, IncidentMessage.author, IncidentMessage.created_at)
        .join(IncidentMessage, IncidentMessage.id == MessageAttachment.incident_message_id)
        .join(Incident, Incident.id == IncidentMessage.incident_id)
        .where(Incident.number == number, IncidentMessage.inbound_id.is_not(None))  # as received, not our copies
        .order_by(MessageAttachment.id)
    ).all()
    return [{"name": clean_filename(a.filename, a.content_type), "stored_name": a.filename,
             "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "direction": direction,
             "from": author, "at": at.isoformat()} for a, direction, author, at in rows]


def _fail(message: str) -> int:
    print(f"support-gateway: attachments: {message}", file=sys.stderr)
    return NOT_FOUND


def cmd_attachments(args: argparse.Namespace) -> int:
    number = views.ref_number(args.ref)
    if number is None:
        return _fail(f"{args.ref!r} is not an incident reference (INC-000123 or 123)")
    with views.open_sessions(settings_of(args)) as sessions, sessions() as session:
        if session.scalar(select(Incident.id).where(Incident.number == number)) is None:
            return _fail(f"no incident INC-{number:06d}")
        files = incident_files(session, number)
        if args.attachments_command == "list":
            for item in files:
                emit(item, args.json, f"{item['name']}  {item['size']} bytes  {item['content_type']}  "
                                      f"{item['direction']} {item['from']} {item['at'][:16]}")
            return 0
        matching = [f for f in files if args.name in (f["name"], f["stored_name"])]
        if not matching:
            known = ", ".join(dict.fromkeys(f["name"] for f in files)) or "none"
            return _fail(f"INC-{number:06d} has no attachment {args.name!r} (its files: {known})")
        chosen = matching[-1]  # the newest of that name: a customer who sends agent.log again means the new one
        data = session.scalar(select(AttachmentBlob.data).where(AttachmentBlob.sha256 == chosen["sha256"]))
    if data is None:
        return _fail(f"the stored bytes of {args.name!r} are missing (sha256 {chosen['sha256']})")
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {len(data)} bytes to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def register(commands: Any) -> None:
    """Add `attachments list|get` to the CLI's subcommands."""
    attachments = commands.add_parser("attachments", help="an incident's files: list, or write one out").add_subparsers(
        dest="attachments_command", required=True, metavar="COMMAND", help="what to do with the files")
    listing = attachments.add_parser("list", help="every file of an incident's messages, oldest first")
    listing.add_argument("ref", help="INC-000001 or 1")
    listing.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    get = attachments.add_parser("get", help="write one file's stored bytes to stdout or --output FILE")
    get.add_argument("ref", help="INC-000001 or 1")
    get.add_argument("name", help="the file's name as the engineers' notice shows it")
    get.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    for sub in (listing, get):
        sub.set_defaults(func=cmd_attachments)
