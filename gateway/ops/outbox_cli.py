"""`support-gateway outbox list|show|retry`: what is waiting to go out, what died, and sending it again.

The queries are store.outbox_repair's (one place to point at another view of dead or
undelivered rows). A retry makes the row due now with a fresh count of attempts; the running
daemon's sender picks it up within its idle second.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.clock import SystemClock
from gateway.ops import views
from gateway.ops.cli_common import emit, settings_of
from store import outbox_repair


def format_line(row: dict[str, Any]) -> str:
    return (f"#{row['id']:<6} {row['state']:<10} {row['kind']:<18} {row['incident'] or '-':<10} "
            f"attempts {row['attempts']:<2} next {row['next_attempt_at'][:19]}  {', '.join(row['to'])}"
            + (f"  — {row['last_error']}" if row["last_error"] else ""))


def cmd_outbox(args: argparse.Namespace) -> int:
    now = SystemClock().now()
    with views.open_sessions(settings_of(args)) as sessions:
        if args.outbox_command == "list":
            with sessions() as session:
                for row in outbox_repair.list_outbox(session, view=args.state, now=now, limit=args.limit):
                    emit(row, args.json, format_line(row))
            return 0
        if args.outbox_command == "show":
            with sessions() as session:
                detail = outbox_repair.show_outbox(session, args.id)
            if detail is None:
                print(f"no outbox row {args.id}", file=sys.stderr)
                return 1
            emit(detail, args.json, "\n".join(f"  {key}: {value}" for key, value in detail.items()))
            return 0
        with sessions.begin() as session:
            ids = outbox_repair.dead_ids(session) if args.all_dead else [args.id]
            if args.id is None and not args.all_dead:
                print("support-gateway: outbox retry: give an ID or --all-dead", file=sys.stderr)
                return 2
            results = [outbox_repair.retry_outbox(session, outbox_id, now) for outbox_id in ids]
        if not results:
            emit({"queued": 0}, args.json, "no dead outbox rows")
        for result in results:
            emit({"id": result.outbox_id, "queued": result.queued, "message": result.reason}, args.json,
                 f"outbox {result.outbox_id}: {result.reason}")
        return 0 if all(result.queued for result in results) else 1


def register(commands: Any) -> None:
    """Add `outbox list|show|retry` to the CLI's subcommands."""
    outbox = commands.add_parser("outbox", help="outgoing mail: due, retrying, dead; retry").add_subparsers(
        dest="outbox_command", required=True, metavar="COMMAND", help="what to do with outgoing mail")
    listing = outbox.add_parser("list", help="outgoing mail, newest first")
    listing.add_argument("--state", choices=outbox_repair.VIEWS, help="due, retrying, dead, or a stored state")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default: 50)")
    show = outbox.add_parser("show", help="one outgoing mail: recipients, attempts, last error, headers")
    show.add_argument("id", type=int, help="the outbox id (from `outbox list`)")
    retry = outbox.add_parser("retry", help="send a dead (or retrying) mail now, with fresh attempts")
    retry.add_argument("id", type=int, nargs="?", help="the outbox id (from `outbox list --state dead`)")
    retry.add_argument("--all-dead", action="store_true", help="every dead row")
    for sub in (listing, show, retry):
        sub.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
        sub.set_defaults(func=cmd_outbox)
