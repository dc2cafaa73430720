"""A real SMTP server (aiosmtpd) standing in for the outbound relay; it can fail on demand.

It runs in its own thread (aiosmtpd's Controller): it is the *peer* of the
gateway, not part of it.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


@dataclass
class _Script:
    replies: list[str] = field(default_factory=list)


class RelaySink:
    """Records every message; `fail_next("421 ...", times=n)` makes the next DATA answers fail.

    With `tls_context` and `credentials` it behaves like a submission relay:
    STARTTLS required, then AUTH required.
    """

    def __init__(self, *, tls_context: ssl.SSLContext | None = None,
                 credentials: tuple[str, str] | None = None, rewrite_message_ids: bool = False,
                 smtputf8: bool = False) -> None:
        self.messages: list[Received] = []
        self.rewrite_message_ids = rewrite_message_ids  # answer like Exchange Online: "250 … <new-id>"
        self.rewritten: list[str] = []
        self.logins: list[str] = []
        self._script = _Script()
        self._lock = threading.Lock()
        self.credentials = credentials
        options: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}  # RFC 6531, offered in EHLO when True
        self.smtputf8_sessions: list[bool] = []  # per message: did the client ask for SMTPUTF8
        self.on_message: Callable[[Received], None] | None = None  # called as each message arrives, before 250
        if tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if credentials is not None:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=tls_context is not None)
        # Controller probes its own port when starting, so port 0 cannot be used: pick a free one.
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port(), **options)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert self.credentials is not None
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
        password = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else ""
        ok = (login, password) == self.credentials
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)

    def start(self) -> RelaySink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def fail_next(self, reply: str, times: int = 1) -> None:
        with self._lock:
            self._script.replies.extend([reply] * times)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self._script.replies:
                return self._script.replies.pop(0)
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or b""))
            if self.on_message is not None:
                self.on_message(self.messages[-1])
            self.smtputf8_sessions.append("SMTPUTF8" in [o.upper() for o in envelope.mail_options])
            if self.rewrite_message_ids:
                self.rewritten.append(f"relay-{len(self.messages)}@relay.test")
                return f"250 2.0.0 Ok <{self.rewritten[-1]}> queued"
        return "250 2.0.0 Ok"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.01)
        raise AssertionError(f"relay sink got {len(self.messages)} message(s), expected {count}")
