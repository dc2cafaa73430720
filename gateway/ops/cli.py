"""`support-gateway`: run the daemon, check settings, migrate, and look at what it did."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from gateway.app import build_app
from gateway.ops import attachments_cli, customers, mail_cli, outbox_cli, records_cli, views
from gateway.ops.cli_common import (
    CommandLineError,
    add_global_options,
    chosen_log_level,
    config_path,
    settings_of,
    subcommand_parsers,
)
from gateway.settings import SettingsError

# aiosmtpd logs every SMTP command at INFO, and Alembic each of its plugins whenever it is
# first imported after logging is set up: neither tells an operator anything.
NOISY_LOGGERS = ("mail.log", "alembic")


def cmd_run(args: argparse.Namespace) -> int:
    from gateway.daemon.serve import Ready, StartupError, serve
    from gateway.daemon.systemd_notify import notify

    settings = settings_of(args)
    configure_logging(logging.getLogger().getEffectiveLevel(), settings.logging.format,  # [logging] format
                      node=settings.gateway.node)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: (notify("STOPPING=1"), stop.set()))

        def ready(info: Ready) -> None:
            target = settings.relay.host if settings.relay else settings.outbox_folder
            lmtp = f"; LMTP on {info.lmtp}" if info.lmtp else ""
            print(f"support-gateway: SMTP on {info.smtp_host}:{info.smtp_port}; outgoing mail to {target}{lmtp}",
                  flush=True)
            notify("READY=1")

        await serve(settings, stop=stop, on_ready=ready)

    try:
        asyncio.run(main())
    except StartupError as exc:
        print(f"support-gateway: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from gateway.intake.imap import imap_credentials
    from gateway.intake.tls import server_tls_context
    from gateway.ops.config_check import metrics_warnings, public_listener_warnings, template_problems
    from gateway.single_node import check_node_settings
    from gateway.token_secret import load_token_secret
    from gateway.work.authentication import authenticator_for

    settings = settings_of(args)
    app = build_app(settings, create_secret=False)
    if settings.relay is not None:
        settings.relay.password()  # a missing secret is a config error too
    imap_credentials(settings)  # so is a missing [[imap]] password (issue 3)
    check_node_settings(settings)  # and shared = true on SQLite (issue 15)
    authenticator_for(settings)  # and an unreadable [authentication] dns_zone_file (issue 10)
    load_token_secret(settings, create=False)  # and a reply-token secret that cannot be read
    server_tls_context(settings.smtp)  # and a certificate STARTTLS cannot use
    problems = template_problems(settings.gateway.templates_dir)
    if problems:
        raise SettingsError(*problems)
    warnings = public_listener_warnings(settings) + metrics_warnings(settings)  # issue 12
    if warnings:
        print(SettingsError(*warnings).located(config_path(args)), file=sys.stderr)
    print(f"{config_path(args)}: OK — {len(settings.customers)} customer(s), "
          f"plans: {', '.join(sorted(app.plans.plans))}; database {views.safe_url(settings.database_url)}")
    section = settings.authentication
    print(f"authentication: {section.describe() if section else 'off (no [authentication] section)'}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from store.db import make_engine
    from store.migrate import current_revision, downgrade, head_revision, upgrade

    engine = make_engine(settings_of(args).database_url)
    try:
        if args.db_command == "upgrade":
            upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            if not args.yes:
                raise CommandLineError(
                    f"db downgrade {args.revision}: drops the tables and columns of every migration after "
                    f"{args.revision} (the schema is at {current_revision(engine) or 'base'}), and the mail and "
                    "incidents they hold; back the database up, then run it again with --yes")
            downgrade(engine, args.revision)
        print(f"schema at {current_revision(engine) or 'base'} (head {head_revision(engine)})")
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-gateway", description=__doc__)
    add_global_options(parser, on_subcommand=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    commands.add_parser("run", help="run the daemon").set_defaults(func=cmd_run)
    commands.add_parser("check-config", help="validate the settings, plans and templates").set_defaults(
        func=cmd_check_config)

    db = commands.add_parser("db", help="schema migrations").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND", help="which migration step")
    db.add_parser("upgrade", help="migrate the schema up").add_argument(
        "revision", nargs="?", default="head", help="the revision to reach (default: head)")
    down = db.add_parser("downgrade", help="migrate the schema down (deletes data: needs a revision and --yes)")
    down.add_argument("revision", help="the revision to reach, e.g. 0005 (`base`: no tables at all)")
    down.add_argument("--yes", action="store_true", help="yes, drop what the later migrations added")
    db.add_parser("current", help="print the schema's revision and the newest one")
    for sub in db.choices.values():
        sub.set_defaults(func=cmd_db)

    records_cli.register(commands)
    customers.register(commands, config_path)
    mail_cli.register(commands)
    outbox_cli.register(commands)  # issue 12: repairing
    attachments_cli.register(commands)  # issue 11: the files a notice only lists
    for sub in subcommand_parsers(parser):
        add_global_options(sub, on_subcommand=True)
    return parser


def print_settings_error(error: SettingsError, path: Path) -> None:
    """Each problem as `file:line: key: message` (the settings file's line of the key), then one summary line."""
    located_error = error.located(path)
    for problem in located_error.problems:
        print(problem, file=sys.stderr)
    count = len(located_error.problems)
    print(f"support-gateway: configuration error ({count} problem{'s' if count != 1 else ''})", file=sys.stderr)


def configure_logging(level: int, style: str | None = None, node: str | None = None) -> None:
    """Log lines as gateway.logformat writes them: key=value, JSON or text; no timestamp under journald;
    the daemon's lines name its node."""
    from gateway.logformat import configure_logging as configure

    configure(level, style, node=node)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(chosen_log_level(args))
        return args.func(args)
    except CommandLineError as exc:
        print(f"support-gateway: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print_settings_error(exc, config_path(args))
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
