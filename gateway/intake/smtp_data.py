"""aiosmtpd's SMTP with a DATA reader that keeps a message in one buffer.

aiosmtpd 1.4 keeps every line of DATA as its own bytearray (built twice) in a
list and joins them at the end: a 25 MB mail of 76-character base64 lines
costs ~4x its size at the peak (issue 2 measured +108 MB for a 26.9 MB mail).
This reader appends each line to one bytearray instead (at most ~1.1x), and
does less work per line. Everything else — the 354 prompt, the size limit
answered with 552 only after the whole message was read (RFC 5321 §4.2.5), the
line-length limit (500), dot-unstuffing (§4.5.2), the DATA hook and the 250 —
is aiosmtpd's own behaviour, kept as it is. The handler gets the message as a
bytearray in `envelope.original_content` (and `content`; decode_data is off).

The override uses aiosmtpd's documented hook points (`push`, `_call_handler_hook`,
`_set_post_data_state`, `_reader`) of the 1.4 series, which pyproject pins.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter

from aiosmtpd.smtp import MISSING, SMTP

log = logging.getLogger(__name__)

_END = b".\r\n"
_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
_TOO_MUCH = "552 Error: Too much mail data"


# The common MAIL FROM / RCPT TO argument: <dot-atom@domain> and then parameters.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>[ \t]*([^(\s][^(]*)?")


# Final reply lines this process sent, by reply code (issue 12: `smtp_replies_total{code}` on /metrics).
# SMTP and LMTP sessions all run on the daemon's one loop, so a plain Counter needs no lock.
REPLIES_BY_CODE: Counter[str] = Counter()


class LeanDataSMTP(SMTP):
    """aiosmtpd's SMTP server protocol; DATA is read differently (see the module docstring).

    Also: MAIL FROM and RCPT TO arguments of the everyday form `<local@domain>
    PARAMS` are split with one regular expression; aiosmtpd runs every address
    through the email package's RFC 5322 header parser, ~10% of the intake's
    CPU per mail. Anything else (quoted local parts, comments, source routes,
    UTF-8, the null path `<>`) still goes to aiosmtpd's parser, and both give
    the same answer (tests/unit/test_smtp_address.py) — except where that parser
    crashes (`MAIL FROM:<` raises IndexError in the stdlib): that is answered as
    the syntax error it is, not with aiosmtpd's "500 Error: (IndexError)".
    """

    async def push(self, status: str | bytes) -> None:  # type: ignore[override]
        """Count each reply by its code; continuation lines (`250-…`, RFC 5321 §4.2.1) are not replies."""
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if len(text) >= 3 and text[3:4] != "-":
            REPLIES_BY_CODE[text[:3]] += 1
        await super().push(status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_PATH.fullmatch(arg) if arg else None
        if plain is None:
            try:
                return super()._getaddr(arg)  # type: ignore[no-any-return]
            except Exception:  # noqa: BLE001 - the stdlib parser raises IndexError on "<": a syntax error
                return None, None
        address, rest = plain.group(1), plain.group(2) or ""
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command naming
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        message, problem = await self._read_message()
        if problem is not None:
            reply = self._data_reply(problem)
            self._set_post_data_state()
            await self.push(reply)
            return
        self.envelope.content = message
        self.envelope.original_content = message  # type: ignore[assignment]
        status = await self._call_handler_hook("DATA")
        reply = self._data_reply("250 OK" if status is MISSING else status)
        self._set_post_data_state()
        await self.push(reply)

    def _data_reply(self, status: str) -> str:
        """What is answered at the end of DATA: one reply in SMTP (LMTP answers per recipient)."""
        return status

    async def _read_message(self) -> tuple[bytearray, str | None]:
        """Read up to the lone dot: (the unstuffed message, None) or (nothing kept, the error reply).

        As in aiosmtpd, the first problem met decides the reply, and the rest of
        the message is still read (and dropped) so the session stays in step.
        """
        message = bytearray()
        limit = self.data_size_limit
        problem: str | None = None
        size = 0
        partial = False  # inside a line longer than the stream limit, which arrives in pieces
        while self.transport is not None:  # pragma: nobranch
            try:
                line: bytes = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                log.info("Connection lost during DATA")
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as error:
                problem, partial = problem or _TOO_LONG, True
                message.clear()
                size += len(await self._reader.read(error.consumed))  # drain the piece; the line goes on
                continue
            size += len(line)
            if partial:  # the end of an over-long line
                partial = False
                continue
            if line == _END:
                break
            if limit and size > limit:
                problem = problem or _TOO_MUCH
            elif len(line) > self.line_length_limit:
                problem = problem or _TOO_LONG
            if problem is not None:
                message.clear()
                continue
            message += memoryview(line)[1:] if line[:1] == b"." else line
        return message, problem
