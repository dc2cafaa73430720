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
        from gateway.app import build_app
        from gateway.clock import SystemClock

        app = build_app(settings_of(args), create_secret=False)
        detail = views.show_incident(sessions, args.ref, app.plan_for, SystemClock().now())
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
        if args.inbound_command in ("retry", "drop"):
            from gateway.clock import SystemClock
            from gateway.ops import repair

            verdict = (repair.retry_inbound(sessions, args.id) if args.inbound_command == "retry"
                       else repair.drop_inbound(sessions, args.id, SystemClock().now()))
            emit({"id": args.id, "done": verdict.done, "message": verdict.message}, args.json,
                 f"inbound {args.id}: {verdict.message}")
            return 0 if verdict.done else 1
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
    """Intake, IMAP, work, outbox, dead notices, quarantine (issue 12); --json prints one object."""
    from gateway.clock import SystemClock
    from gateway.health import snapshot
    from gateway.ops.nodes_view import holder_line, mailbox_holders
    from gateway.ops.status import format_status, needs_attention

    settings = settings_of(args)
    now = SystemClock().now()
    with views.open_sessions(settings) as sessions:
        with sessions() as session:
            taken = snapshot(session, settings, now)
        mailboxes = views.imap_status(sessions, settings, now)
        holders = mailbox_holders(sessions, now)  # issue 15: which node polls which mailbox
    attention = needs_attention(taken)
    emit({**taken, "imap_mailboxes": mailboxes, "leases": holders, "needs_attention": attention}, args.json,
         format_status(taken, [views.format_imap_status(row) for row in mailboxes]
                       + [holder_line(row) for row in holders]))
    return 1 if attention else 0


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
    inbound_list.add_argument("--state", choices=["received", "processed", "quarantined", "ignored", "dropped"],
                              help="only mail in this state")
    inbound_list.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    inbound_show = inbound.add_parser("show", help="one received mail: envelope, state, reason")
    inbound_show.add_argument("id", type=int, help="the inbound id (from `inbound list`)")
    inbound_show.add_argument("--raw", action="store_true", help="print the raw mail as received")
    inbound_retry = inbound.add_parser("retry", help="process a quarantined mail again (e.g. after adding a contact)")
    inbound_retry.add_argument("id", type=int, help="the inbound id (from `inbound list`)")
    inbound_drop = inbound.add_parser("drop", help="give up on a quarantined mail (kept, never processed)")
    inbound_drop.add_argument("id", type=int, help="the inbound id (from `inbound list`)")
    for sub in (inbound_list, inbound_show, inbound_retry, inbound_drop):
        sub.add_argument("--json", action="store_true", help=JSON_HELP)
        sub.set_defaults(func=cmd_inbound)

    status = commands.add_parser("status", help="intake, IMAP, work, outbox, dead mail and quarantine at a glance")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(func=cmd_status)
