"""What every `support-gateway` subcommand shares: the global options, the settings they name, one way to print.

The global options (--config, --log-level) are accepted before the subcommand and after
it, at any depth (`support-gateway incidents list --config F`): an operator should not have
to remember where argparse wants them (issue 9, "the CLI forgives").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from gateway.settings import Settings, load_settings

DEFAULT_CONFIG = Path("examples/gateway.toml")
CONFIG_ENV = "SUPPORT_GATEWAY_CONFIG"
LOG_LEVEL_ENV = "SUPPORT_GATEWAY_LOG_LEVEL"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class CommandLineError(Exception):
    """A value on the command line (or in its environment variable) is wrong; the message says which."""


def add_global_options(parser: argparse.ArgumentParser, *, on_subcommand: bool) -> None:
    """Add --config and --log-level to `parser`.

    On a subcommand the default is SUPPRESS, not None: argparse copies every attribute the
    subcommand's parser sets over the main namespace, so a default there would silently
    erase a `--config F` given before the subcommand.
    """
    default = argparse.SUPPRESS if on_subcommand else None
    parser.add_argument("--config", "-c", default=default, metavar="FILE",
                        help=f"settings file (default: ${CONFIG_ENV} or {DEFAULT_CONFIG}); "
                             "relative paths in it are taken from its folder")
    parser.add_argument("--log-level", default=default, metavar="LEVEL",
                        help=f"{', '.join(LOG_LEVELS)}, any case (default: ${LOG_LEVEL_ENV} or INFO)")


def subcommand_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser below `parser`: subcommands, their sub-subcommands, and so on."""
    for action in parser._actions:  # argparse has no public way to list its subparsers
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # an alias names the same parser
                yield sub
                yield from subcommand_parsers(sub)


def config_path(args: argparse.Namespace) -> Path:
    if args.config:
        return Path(args.config)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(config_path(args))


def chosen_log_level(args: argparse.Namespace) -> int:
    """The level from --log-level, else $SUPPORT_GATEWAY_LOG_LEVEL, else INFO.

    Checked here rather than by argparse: its error prints the whole usage, and a wrong
    value in the environment would otherwise surface as logging's traceback.
    """
    if args.log_level:
        name, source = args.log_level, "--log-level"
    else:
        name, source = os.environ.get(LOG_LEVEL_ENV) or "INFO", f"${LOG_LEVEL_ENV}"
    level = name.strip().upper()
    if level not in LOG_LEVELS:
        raise CommandLineError(f"{source}: {name!r} is not a log level (use one of {', '.join(LOG_LEVELS)})")
    return logging.getLevelNamesMapping()[level]


# Line separators JSON allows raw inside strings (RFC 8259 §7 escapes only U+0000-U+001F) but
# that Python's str.splitlines() and many JSON-lines readers split on (issue 13).
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_line(result: object) -> str:
    """One JSON object on one line, readable text kept, every line separator escaped."""
    return json.dumps(result, ensure_ascii=False, default=str).translate(_LINE_BREAKS)


def emit(result: object, as_json: bool, text: str) -> None:
    """Print one result: a JSON object on one line (for scripts), or the text for a person."""
    print(json_line(result) if as_json else text)
