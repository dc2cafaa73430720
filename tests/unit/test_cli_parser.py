"""The `support-gateway` parser itself: every part of `--help` says what it is for, everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from gateway.ops.cli import build_parser


def every_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every subcommand below it, walked here rather than with the CLI's own helper."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from every_parser(sub)


def lines_without_help(parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{parser.prog}: {'/'.join(action.option_strings) or action.dest}")
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest: choice.help for choice in action._choices_actions}
            missing += [f"{parser.prog} {name}" for name in action.choices if not helped.get(name)]
    return missing


def test_every_subcommand_option_and_argument_has_a_help_line() -> None:
    parser = build_parser()
    assert [line for sub in every_parser(parser) for line in lines_without_help(sub)] == []


def test_every_subcommand_accepts_config_and_log_level_after_it() -> None:
    parsers = list(every_parser(build_parser()))
    assert len(parsers) > 20  # the walk really reached the sub-subcommands
    for parser in parsers:
        options = {option for action in parser._actions for option in action.option_strings}
        assert {"--config", "-c", "--log-level"} <= options, parser.prog


def test_an_option_before_the_subcommand_survives_the_subcommand_parser() -> None:
    args = build_parser().parse_args(["--config", "first.toml", "--log-level", "DEBUG", "incidents", "list"])
    assert (args.config, args.log_level) == ("first.toml", "DEBUG")
    args = build_parser().parse_args(["--config", "first.toml", "incidents", "list", "-c", "second.toml"])
    assert args.config == "second.toml"  # the later one wins, as with any repeated option
