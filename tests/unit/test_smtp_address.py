"""LeanDataSMTP's fast MAIL FROM / RCPT TO split answers exactly as aiosmtpd's own parser does."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings, strategies as st

from gateway.intake.smtp_data import LeanDataSMTP


class _Handler:
    pass


def _servers() -> tuple[SMTP, LeanDataSMTP]:
    loop = asyncio.new_event_loop()
    try:
        return SMTP(_Handler(), loop=loop), LeanDataSMTP(_Handler(), loop=loop)
    finally:
        loop.close()


STOCK, LEAN = _servers()


def _stock(arg: str) -> tuple[str | None, str | None]:
    """aiosmtpd's answer; where its parser crashes, the syntax error it should have been."""
    try:
        return STOCK._getaddr(arg)
    except Exception:  # noqa: BLE001
        return None, None

EXAMPLES = [
    "<alice@example.test>", "<alice@example.test> SIZE=1200", "<a.b+c@x.y>  BODY=8BITMIME",
    "<a@b.test>SIZE=1", " <a@b.test>", "<>", "<a@b.test> (comment)", '<"quoted local"@example.test>',
    "<@route.example:alice@example.test>", "<ünïcode@example.test>", "alice@example.test", "<a..b@x.y>",
    "<.a@x.y>", "<a@-x.y>", "<a@x..y>", "<a@x.y", "a@x.y>", "<" + "l" * 70 + "@example.test>",
    "<a@x.y>\tSMTPUTF8", "<a@x.y> SIZE=1 (c)", "", "<",
]


def test_a_path_the_stdlib_parser_chokes_on_is_a_syntax_error_not_a_crash() -> None:
    assert LEAN._getaddr("<") == (None, None)


def test_everyday_and_odd_paths_get_the_same_address_and_parameters_as_aiosmtpd() -> None:
    for arg in EXAMPLES:
        assert LEAN._getaddr(arg) == _stock(arg), arg


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab.@<>+-_ ()\"=:\tSIZE1", max_size=30))
def test_any_mix_of_address_characters_gets_the_same_answer_as_aiosmtpd(arg: str) -> None:
    assert LEAN._getaddr(arg) == _stock(arg)
