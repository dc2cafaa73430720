"""The `[metrics]` HTTP listener on the daemon's loop: GET /metrics (Prometheus text) and GET /healthz.

A few lines of HTTP/1.0 on asyncio rather than prometheus_client's own server: that one runs
a thread of its own, which would keep answering while this loop is blocked, and /healthz must
not. The store is read on the daemon's database worker with a time limit: a store that does
not answer in STORE_SECONDS is a 503, not a hung scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from gateway.clock import Clock
from gateway.daemon.heartbeat import Heartbeat
from gateway.daemon.metrics import Reading, exposition
from gateway.daemon.parts import StartupError
from gateway.database import Database
from gateway.health import snapshot
from gateway.settings import Settings

log = logging.getLogger(__name__)

STORE_SECONDS = 5.0
REQUEST_SECONDS = 5.0
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer:
    """Answers /metrics and /healthz from the store's snapshot, the work loop's heartbeat and the listeners."""

    def __init__(self, settings: Settings, database: Database, clock: Clock, heartbeat: Heartbeat,
                 listening: Callable[[], bool]) -> None:
        assert settings.metrics is not None
        self.settings, self.database, self.clock = settings, database, clock
        self.heartbeat, self.listening = heartbeat, listening
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen; return "host:port" as bound (port 0 becomes a real one)."""
        assert self.settings.metrics is not None
        host, port = self.settings.metrics.host_port
        try:
            self.server = await asyncio.start_server(self._answer, host, port)
        except OSError as exc:
            raise StartupError(f"cannot listen for metrics on {self.settings.metrics.listen}: "
                               f"{exc.strerror or exc} (metrics.listen)") from None
        bound = self.server.sockets[0].getsockname()
        address = f"{bound[0]}:{bound[1]}" if ":" not in bound[0] else f"[{bound[0]}]:{bound[1]}"
        log.info("serving /metrics and /healthz on http://%s", address)
        return address

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def reading(self) -> Reading:
        assert self.settings.metrics is not None
        taken, error = None, None
        try:
            taken = await asyncio.wait_for(self.database.run(self._snapshot), STORE_SECONDS)
        except TimeoutError:
            error = f"no answer in {STORE_SECONDS:.0f} s"
        except Exception as exc:  # noqa: BLE001 - an unreachable store is what /healthz reports
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return Reading(taken, error, self.heartbeat.age(), self.listening(), self.settings.metrics.stuck_seconds,
                       node=self.settings.gateway.node)

    def _snapshot(self) -> dict[str, object]:
        with self.database.sessions() as session:
            return snapshot(session, self.settings, self.clock.now())

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_SECONDS)
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            status, content_type, body = await self._route(method, path)
            head = (f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode()
            writer.write(head + (body if method != "HEAD" else b""))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            return "200 OK", PROMETHEUS_TEXT, exposition(await self.reading())
        if path == "/healthz":
            reading = await self.reading()
            body = (json.dumps(reading.health(), ensure_ascii=False) + "\n").encode()
            return ("200 OK" if reading.healthy else "503 Service Unavailable"), "application/json", body
        return "404 Not Found", "text/plain", b"/metrics or /healthz\n"
