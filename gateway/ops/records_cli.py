"""`support-gateway incidents|inbound|status`: read what the daemon recorded, and retry held mail."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.ops import views
from gateway.ops.cli_common import emit, settings_of

JSON_HELP = "one JSON object per line instead of text"


def cmd_incidents(args: argparse.Namespace) -> int:
    with views.open_sessions(settings_of(args)) as sessions:
        if args.incidents_command == "list":
            rows = views.list_incidents(sessions, status=args.status, limit=args.limit)
            for row in rows:
                emit(row, args.json, views.format_incident_line(row))
            return 0
        detail = views.show_incident(sessions, args.ref)
        if detail is None:
            print(f"no incident {args.ref}", file=sys.stderr)
            return 1
        emit(detail, args.json, views.format_incident(detail))
        return 0


def cmd_inbound(args: argparse.Namespace) -> int:
    with views.open_sessions(settings_of(args)) as sessions:
        if args.inbound_command == "list":
            for row in views.list_inbound(sessions, state=args.state, limit=args.limit):
                emit(row, args.json, views.format_inbound_line(row))
            return 0
        if args.inbound_command == "retry":
            ok = views.retry_inbound(sessions, args.id)
            print(f"inbound {args.id}: {'queued for processing again' if ok else 'not found or not retryable'}")
            return 0 if ok else 1
        raw = getattr(args, "raw", False)
        detail = views.show_inbound(sessions, args.id, raw=raw)
        if detail is None:
            print(f"no inbound message {args.id}", file=sys.stderr)
            return 1
        if raw:
            sys.stdout.buffer.write(detail["raw"])
            return 0
        emit(detail, args.json, views.format_inbound(detail))
        return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Per IMAP mailbox: the last successful poll, the last error and counts (issue 3)."""
    from gateway.clock import SystemClock

    settings = settings_of(args)
    with views.open_sessions(settings) as sessions:
        rows = views.imap_status(sessions, settings, SystemClock().now())
    if not rows and not args.json:
        print("no [[imap]] mailboxes configured")
    for row in rows:
        emit(row, args.json, views.format_imap_status(row))
    if not args.json:
        from gateway.ops.nodes_view import mailbox_holder_lines  # issue 15: who polls which mailbox

        with views.open_sessions(settings) as sessions:
            for line in mailbox_holder_lines(sessions, SystemClock().now()):
                print(line)
    return 1 if any(row["stale"] for row in rows) else 0


def register(commands: Any) -> None:
    """Add `incidents`, `inbound` and `status` to the CLI's subcommands."""
    incidents = commands.add_parser("incidents", help="list or show incidents").add_subparsers(
        dest="incidents_command", required=True, metavar="COMMAND", help="what to do with incidents")
    listing = incidents.add_parser("list", help="the latest incidents, newest first")
    listing.add_argument("--status", choices=["open", "resolved", "closed"], help="only incidents in this state")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    show = incidents.add_parser("show", help="one incident with its events, messages and mail sent")
    show.add_argument("ref", help="INC-000001 or 1")
    for sub in (listing, show):
        sub.add_argument("--json", action="store_true", help=JSON_HELP)
        sub.set_defaults(func=cmd_incidents)

    inbound = commands.add_parser("inbound", help="received mail: held, ignored, quarantined").add_subparsers(
        dest="inbound_command", required=True, metavar="COMMAND", help="what to do with received mail")
    inbound_list = inbound.add_parser("list", help="received mail, newest first, with its reason codes")
    inbound_list.add_argument("--state", choices=["received", "processed", "quarantined", "ignored"],
                              help="only mail in this state")
    inbound_list.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    inbound_show = inbound.add_parser("show", help="one received mail: envelope, state, reason")
    inbound_show.add_argument("id", type=int, help="the inbound id (from `inbound list`)")
    inbound_show.add_argument("--raw", action="store_true", help="print the raw mail as received")
    inbound_retry = inbound.add_parser("retry", help="process a quarantined mail again (e.g. after adding a contact)")
    inbound_retry.add_argument("id", type=int, help="the inbound id (from `inbound list`)")
    for sub in (inbound_list, inbound_show, inbound_retry):
        sub.add_argument("--json", action="store_true", help=JSON_HELP)
        sub.set_defaults(func=cmd_inbound)

    status = commands.add_parser("status", help="IMAP mailboxes: last successful poll, last error, counts")
    status.add_argument("--json", action="store_true", help="one JSON object per line per mailbox")
    status.set_defaults(func=cmd_status)
