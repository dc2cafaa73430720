"""Runs serve() in a background thread with its own event loop, for end-to-end tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from gateway.clock import Clock
from gateway.daemon.serve import Ready, serve
from gateway.settings import Settings


class RunningDaemon:
    def __init__(self, settings: Settings, clock: Clock | None = None,
                 on_ready: Callable[[Ready], None] | None = None) -> None:
        """`on_ready`, if given, runs on the daemon's loop at READY, before start() returns."""
        self.settings = settings
        self.clock = clock
        self._on_ready = on_ready
        self.ready: Ready | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="daemon", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def on_ready(info: Ready) -> None:
                if self._on_ready is not None:
                    self._on_ready(info)
                self.ready = info
                self._ready.set()

            await serve(self.settings, stop=self._stop, on_ready=on_ready, clock=self.clock)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test
            self.error = exc
            self._ready.set()

    def start(self, timeout: float = 15.0) -> RunningDaemon:
        self._thread.start()
        if not self._ready.wait(timeout) or self.ready is None:
            raise RuntimeError(f"daemon did not start: {self.error!r}")
        return self

    @property
    def port(self) -> int:
        assert self.ready is not None
        return self.ready.smtp_port

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("daemon did not stop")
        if self.error is not None:
            raise self.error
