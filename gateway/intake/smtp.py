"""SMTP intake on the daemon's own event loop (aiosmtpd).

Only two things happen inside the SMTP transaction: RCPT is checked against the
support addresses (no relaying, ever), and DATA is committed through
accept_raw(). Parsing, decisions and outbound mail happen later, off the
transaction, so a slow database or relay never makes a sender time out and
retry (SimpleLogin's trap in architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope as SmtpEnvelope, Session as SmtpSession

from gateway import codes
from gateway.clock import Clock
from gateway.core.model import Envelope
from gateway.database import Database
from gateway.intake.group_commit import GroupCommit
from gateway.intake.ingest import Arrival
from gateway.intake.received import ReverseNames, Trace, new_id, protocol_name, stamp
from gateway.intake.smtp_data import LeanDataSMTP

log = logging.getLogger(__name__)

REPLY_OK = "250 2.0.0 Ok: queued as {id}"
REPLY_NOT_OURS = "550 5.1.1 <{address}>: not a support address here; relaying denied"
REPLY_TRY_LATER = "451 4.3.0 Temporary store failure; please try again later"
REPLY_NO_RECIPIENTS = "554 5.5.1 No valid recipients"


def base_address(address: str) -> str:
    """support+INC-000123@x → support@x: plus-addressed tokens reach the same desk."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


class IntakeHandler:
    """aiosmtpd handler: RCPT check and durable commit of DATA."""

    def __init__(self, database: Database, support_addresses: frozenset[str], clock: Clock,
                 on_accepted: Callable[[], None], hostname: str = "localhost") -> None:
        self.database = database
        self.hostname = hostname  # ours, in each mail's Received: line
        self.reverse_names = ReverseNames()
        self.commits = GroupCommit(database, clock)
        self.support_addresses = support_addresses
        self.clock = clock
        self.on_accepted = on_accepted
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_RCPT(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope,
                          address: str, rcpt_options: list[str]) -> str:
        if base_address(address) not in self.support_addresses:
            log.info("smtp: refused RCPT %s from %s", address, session.peer)
            return REPLY_NOT_OURS.format(address=address)
        envelope.rcpt_tos.append(address)
        self.reverse_names.start(session, _ip(session))
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        if not envelope.rcpt_tos:
            return REPLY_NO_RECIPIENTS
        raw = envelope.original_content
        raw = raw if isinstance(raw, bytearray) else bytearray(raw or b"")
        smtp_envelope = Envelope(envelope.mail_from or "", tuple(envelope.rcpt_tos))
        self.in_flight += 1
        self.idle.clear()
        try:
            lmtp = isinstance(server, LMTP)
            trace = Trace(session.host_name, _ip(session), await self.reverse_names.name(session), self.hostname,
                          protocol_name(lmtp=lmtp, extended=session.extended_smtp, tls=session.ssl is not None),
                          smtp_envelope.rcpt_tos, self.clock.now(), new_id())
            digest = stamp(raw, trace)
            accepted = await self.commits.accept(Arrival(
                raw, smtp_envelope, codes.SOURCE_LMTP if lmtp else codes.SOURCE_SMTP, _peer(session), digest=digest))
        except Exception:  # noqa: BLE001 - any store trouble: make the sending MTA retry
            log.exception("smtp: could not commit mail from %s; answered 451", envelope.mail_from)
            return REPLY_TRY_LATER
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()
        self.on_accepted()
        log.debug("smtp: %s stored as inbound %s", trace.id, accepted.inbound_id)
        return REPLY_OK.format(id=accepted.inbound_id)


def _peer(session: SmtpSession) -> str | None:
    peer: Any = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"smtp:{peer[0]}:{peer[1]}"
    return None


def _ip(session: SmtpSession) -> str | None:
    peer: Any = session.peer
    return str(peer[0]) if isinstance(peer, tuple) and peer else None  # a UNIX socket has no address


def make_smtp_factory(handler: IntakeHandler, *, hostname: str | None, max_message_size: int,
                      tls_context: ssl.SSLContext | None = None, require_tls: bool = False) -> Callable[[], SMTP]:
    """The protocol factory for loop.create_server (not aiosmtpd's threaded Controller).

    With a TLS context the listener offers STARTTLS (RFC 3207); `require_tls` answers 530 to
    MAIL before it.
    """

    def factory() -> SMTP:
        return LeanDataSMTP(
            handler,
            hostname=hostname,
            data_size_limit=max_message_size,  # aiosmtpd answers 552 past this
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="support-gateway ESMTP",
            tls_context=tls_context,
            require_starttls=require_tls,
            loop=asyncio.get_running_loop(),  # the daemon's own loop, never a second one
        )

    return factory
