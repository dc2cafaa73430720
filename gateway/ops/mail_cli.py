"""`support-gateway inspect|replay|report`: what the gateway makes of mail, on files or a simulated clock."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.app import build_app
from gateway.ops import views
from gateway.ops.cli_common import emit, settings_of


def cmd_inspect(args: argparse.Namespace) -> int:
    from gateway.ops.inspect import describe, directory_from_settings, inspect_file
    from gateway.work.authentication import authenticator_for

    app = build_app(settings_of(args), create_secret=False)
    directory, authenticator = directory_from_settings(app), authenticator_for(app.settings)
    failures = 0
    for name in args.files:
        result = inspect_file(app, Path(name), directory, authenticator)
        failures += "error" in result and result["error"] == "unreadable"
        emit(result, args.json, describe(result))
    return 1 if failures else 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Play recorded mail through the gateway on a simulated clock; print the timeline (issue 5)."""
    from datetime import datetime

    from gateway.ops.replay import format_entry, replay

    try:
        until = datetime.fromisoformat(args.until)
    except ValueError:
        print(f"support-gateway: --until: not an RFC 3339 time: {args.until!r}", file=sys.stderr)
        return 2
    if until.tzinfo is None:
        print("support-gateway: --until needs an offset, e.g. 2026-12-31T23:59:00+09:00", file=sys.stderr)
        return 2
    path = Path(args.path)
    if not path.exists():
        print(f"support-gateway: {path}: no such file or directory", file=sys.stderr)
        return 2
    for item in replay(settings_of(args), path, until):
        print(format_entry(item, args.json))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """A customer's periodic review: print it, write the HTML, or queue it once (issues 5, 14).

    Read at min(now, period end): run mid-quarter it says "to date". `--send`
    shares the scheduler's dedupe key (customer, period): twice queues once.
    """
    from datetime import datetime

    from gateway.clock import SystemClock
    from gateway.work.review import ReportError, figures, queue, queued, recipients, render, review_key

    now = SystemClock().now()
    if args.at is not None:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            print(f"support-gateway: --at: not an RFC 3339 time with an offset: {args.at!r}", file=sys.stderr)
            return 2
        now = at
    settings = settings_of(args)
    app = build_app(settings, create_secret=False)
    with views.open_sessions(settings) as sessions:
        try:
            with sessions.begin() as session:
                customer, report = figures(app, session, args.customer, args.quarter, now)
                mail = render(app, customer, report)
                if args.send:
                    audience = recipients(app, session, args.customer)
                    if not audience.to:
                        raise ReportError(f"customer {args.customer!r} has no contacts to send to")
                    earlier = queued(session, args.customer, report.label)
                    if earlier is not None:
                        print(f"already queued as outbox {earlier.id} ({earlier.state}): {report.label} "
                              f"is sent once")
                    else:
                        row = queue(session, app, mail, audience, now, review_key(args.customer, report.label))
                        session.flush()
                        print(f"queued as outbox {row.id} to {', '.join(audience.everyone)}")
        except (ReportError, ValueError) as exc:
            print(f"support-gateway: report: {exc}", file=sys.stderr)
            return 1
    if args.html:
        Path(args.html).write_text(mail.html_standalone(), encoding="utf-8")
    if not args.send:
        print(mail.subject)
        print()
        print(mail.text, end="")
    return 0


def register(commands: Any) -> None:
    """Add `inspect`, `replay` and `report` to the CLI's subcommands."""
    inspect = commands.add_parser("inspect", help="show what the gateway would make of mail files")
    inspect.add_argument("files", nargs="+", metavar="FILE", help="mail files (.eml, raw RFC 5322 bytes)")
    inspect.add_argument("--json", action="store_true", help="one JSON object per line per file")
    inspect.set_defaults(func=cmd_inspect)

    replaying = commands.add_parser("replay", help="play .eml files or an mbox on a simulated clock (what-if)")
    replaying.add_argument("path", help="a directory of .eml files, one .eml, or an mbox file")
    replaying.add_argument("--until", required=True, help="RFC 3339 time to run the clock to")
    replaying.add_argument("--json", action="store_true", help="one JSON object per line")
    replaying.set_defaults(func=cmd_replay)

    reporting = commands.add_parser("report", help="a customer's quarterly review (TAM, msa-enterprise)")
    reporting.add_argument("customer", help="the customer key")
    reporting.add_argument("--quarter", required=True, help="e.g. 2026Q4 (also 2026H2, 2026-11, 2026)")
    reporting.add_argument("--html", metavar="FILE", help="also write the HTML version (chart inline) to FILE")
    reporting.add_argument("--at", metavar="TIME",
                           help="read the figures as at this RFC 3339 time (default: now; capped at the period end)")
    reporting.add_argument("--send", action="store_true",
                           help="queue it (once per period) to the customer's contacts, TAM in copy")
    reporting.set_defaults(func=cmd_report)
