"""`support-gateway`: run the daemon, check settings, migrate, and look at what it did."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from gateway.ops import views
from gateway.app import build_app
from gateway.settings import Settings, SettingsError, load_settings

DEFAULT_CONFIG = Path("examples/gateway.toml")


def _config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    return Path(os.environ.get("SUPPORT_GATEWAY_CONFIG", DEFAULT_CONFIG))


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.daemon.serve import Ready, serve
    from gateway.daemon.systemd_notify import notify

    settings = _settings(args)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: (notify("STOPPING=1"), stop.set()))

        def ready(info: Ready) -> None:
            target = settings.relay.host if settings.relay else settings.outbox_folder
            print(f"support-gateway: SMTP on {info.smtp_host}:{info.smtp_port}; outgoing mail to {target}",
                  flush=True)
            notify("READY=1")

        await serve(settings, stop=stop, on_ready=ready)

    from gateway.daemon.serve import StartupError

    try:
        asyncio.run(main())
    except StartupError as exc:
        print(f"support-gateway: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings(args)
    app = build_app(settings, create_secret=False)
    if settings.relay is not None:
        settings.relay.password()  # a missing secret is a config error too
    from gateway.intake.imap import imap_credentials

    imap_credentials(settings)  # so is a missing [[imap]] password (issue 3)
    print(f"{_config_path(args)}: OK — {len(settings.customers)} customer(s), "
          f"plans: {', '.join(sorted(app.plans.plans))}; database {views.safe_url(settings.database_url)}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from store.db import make_engine
    from store.migrate import current_revision, downgrade, head_revision, upgrade

    engine = make_engine(_settings(args).database_url)
    try:
        if args.db_command == "upgrade":
            upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            downgrade(engine, args.revision)
        print(f"schema at {current_revision(engine) or 'base'} (head {head_revision(engine)})")
    finally:
        engine.dispose()
    return 0


def _emit(result: object, as_json: bool, text: str) -> None:
    print(json.dumps(result, ensure_ascii=False, default=str) if as_json else text)


def cmd_incidents(args: argparse.Namespace) -> int:
    with views.open_sessions(_settings(args)) as sessions:
        if args.incidents_command == "list":
            rows = views.list_incidents(sessions, status=args.status, limit=args.limit)
            for row in rows:
                _emit(row, args.json, views.format_incident_line(row))
            return 0
        detail = views.show_incident(sessions, args.ref)
        if detail is None:
            print(f"no incident {args.ref}", file=sys.stderr)
            return 1
        _emit(detail, args.json, views.format_incident(detail))
        return 0


def cmd_inbound(args: argparse.Namespace) -> int:
    with views.open_sessions(_settings(args)) as sessions:
        if args.inbound_command == "list":
            for row in views.list_inbound(sessions, state=args.state, limit=args.limit):
                _emit(row, args.json, views.format_inbound_line(row))
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
        _emit(detail, args.json, views.format_inbound(detail))
        return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from gateway.ops.inspect import describe, directory_from_settings, inspect_file

    app = build_app(_settings(args), create_secret=False)
    directory = directory_from_settings(app)
    failures = 0
    for name in args.files:
        result = inspect_file(app, Path(name), directory)
        failures += "error" in result and result["error"] == "unreadable"
        _emit(result, args.json, describe(result))
    return 1 if failures else 0


def cmd_status(args: argparse.Namespace) -> int:
    """Per IMAP mailbox: the last successful poll, the last error and counts (issue 3)."""
    from gateway.clock import SystemClock

    settings = _settings(args)
    with views.open_sessions(settings) as sessions:
        rows = views.imap_status(sessions, settings, SystemClock().now())
    if not rows and not args.json:
        print("no [[imap]] mailboxes configured")
    for row in rows:
        _emit(row, args.json, views.format_imap_status(row))
    return 1 if any(row["stale"] for row in rows) else 0


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
    for item in replay(_settings(args), path, until):
        print(format_entry(item, args.json))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The quarterly review of one customer's incidents: print it, write the HTML, or queue it (issue 5)."""
    from gateway.clock import SystemClock
    from gateway.ops.report import ReportError, figures, queue, recipients, render

    settings = _settings(args)
    app = build_app(settings, create_secret=False)
    with views.open_sessions(settings) as sessions:
        try:
            with sessions.begin() as session:
                customer, report = figures(app, session, args.customer, args.quarter)
                mail = render(app, customer, report)
                if args.send:
                    to = recipients(app, args.customer)
                    if not to:
                        raise ReportError(f"customer {args.customer!r} has no contacts or TAM to send to")
                    row = queue(session, app, mail, to, SystemClock().now())
                    session.flush()
                    print(f"queued as outbox {row.id} to {', '.join(to)}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-gateway", description=__doc__)
    parser.add_argument("--config", "-c", help=f"settings file (default: $SUPPORT_GATEWAY_CONFIG or {DEFAULT_CONFIG})")
    parser.add_argument("--log-level", default=os.environ.get("SUPPORT_GATEWAY_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the daemon").set_defaults(func=cmd_run)
    commands.add_parser("check-config", help="validate the settings, plans and templates").set_defaults(func=cmd_check_config)

    db = commands.add_parser("db", help="schema migrations").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade").add_argument("revision", nargs="?", default="head")
    db.add_parser("downgrade").add_argument("revision", nargs="?", default="base")
    db.add_parser("current")
    for sub in db.choices.values():
        sub.set_defaults(func=cmd_db)

    incidents = commands.add_parser("incidents", help="list or show incidents").add_subparsers(
        dest="incidents_command", required=True)
    listing = incidents.add_parser("list")
    listing.add_argument("--status", choices=["open", "resolved", "closed"])
    listing.add_argument("--limit", type=int, default=50)
    show = incidents.add_parser("show")
    show.add_argument("ref", help="INC-000001 or 1")
    for sub in (listing, show):
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=cmd_incidents)

    inbound = commands.add_parser("inbound", help="received mail: held, ignored, quarantined").add_subparsers(
        dest="inbound_command", required=True)
    inbound_list = inbound.add_parser("list")
    inbound_list.add_argument("--state", choices=["received", "processed", "quarantined", "ignored"])
    inbound_list.add_argument("--limit", type=int, default=50)
    inbound_show = inbound.add_parser("show")
    inbound_show.add_argument("id", type=int)
    inbound_show.add_argument("--raw", action="store_true", help="print the raw mail as received")
    inbound_retry = inbound.add_parser("retry", help="process a quarantined mail again (e.g. after adding a contact)")
    inbound_retry.add_argument("id", type=int)
    for sub in (inbound_list, inbound_show, inbound_retry):
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=cmd_inbound)

    status = commands.add_parser("status", help="IMAP mailboxes: last successful poll, last error, counts")
    status.add_argument("--json", action="store_true", help="one JSON object per line per mailbox")
    status.set_defaults(func=cmd_status)

    from gateway.ops import customers as customers_cli

    customers_cli.register(commands, _config_path)

    inspect = commands.add_parser("inspect", help="show what the gateway would make of mail files")
    inspect.add_argument("files", nargs="+")
    inspect.add_argument("--json", action="store_true", help="one JSON object per line per file")
    inspect.set_defaults(func=cmd_inspect)

    replaying = commands.add_parser("replay", help="play .eml files or an mbox on a simulated clock (what-if)")
    replaying.add_argument("path", help="a directory of .eml files, one .eml, or an mbox file")
    replaying.add_argument("--config", "-c", default=argparse.SUPPRESS, help="settings file (plans, customers)")
    replaying.add_argument("--until", required=True, help="RFC 3339 time to run the clock to")
    replaying.add_argument("--json", action="store_true", help="one JSON object per line")
    replaying.set_defaults(func=cmd_replay)

    reporting = commands.add_parser("report", help="a customer's quarterly review (TAM, msa-enterprise)")
    reporting.add_argument("customer", help="the customer key")
    reporting.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    reporting.add_argument("--html", metavar="FILE", help="also write the HTML version (chart inline) to FILE")
    reporting.add_argument("--send", action="store_true", help="queue it to the customer's contacts and TAM")
    reporting.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every SMTP command at INFO and Alembic every plugin: keep the journal readable.
    for noisy in ("mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"support-gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    except views.StoreNotReady as exc:
        print(f"support-gateway: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `support-gateway incidents list | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
