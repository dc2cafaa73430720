"""A relay for the intake benchmark: a bare aiosmtpd server in a process of its own.

`bench/intake.py --baseline` times it answering 250 at once (the floor the intake builds on);
`--relay-sink` sends the acknowledgements to it and reads when each arrived (AckClock).

    .venv/bin/python bench/relay.py PORT_FILE [ARRIVALS_FILE]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402


class AckClock:
    """When each acknowledgement reached the relay, by the customer Message-ID it answers.

    The relay is a bare aiosmtpd server in a process of its own (as a real relay is not in
    the benchmark's process, whose SMTP client threads would otherwise slow its replies): it
    writes each arrival's In-Reply-To and time.monotonic(), which all processes share on Linux.
    """

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="sg-relay-"))
        self.port_file, self.arrivals = folder / "port", folder / "arrivals"
        self.server = subprocess.Popen([sys.executable, __file__, str(self.port_file), str(self.arrivals)])
        while not self.port_file.exists() or not self.port_file.read_text():
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())

    def stop(self) -> None:
        self.server.kill()
        self.server.wait()

    def report(self, name: str, rate: float, mails: list[bytes], answered_at: dict[int, float]) -> None:
        arrived: dict[str, float] = {}
        for line in self.arrivals.read_text().splitlines():
            message_id, _, at = line.rpartition(" ")
            arrived.setdefault(message_id, float(at))
        waits = [arrived[_message_id(mail)] - answered_at[i] for i, mail in enumerate(mails)
                 if _message_id(mail) in arrived and i in answered_at]
        print(f"{name}: at {rate:.0f} msg/s offered: 250 → acknowledgement at the relay "
              f"p50 {statistics.median(waits) * 1000:.0f} ms, p99 {percentile(waits, 0.99) * 1000:.0f} ms, "
              f"max {max(waits) * 1000:.0f} ms ({len(waits)} of {len(mails)} matched)")


def _message_id(mail: bytes) -> str:
    return mail.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()


def bare_server(port_file: str, arrivals: str | None = None) -> None:
    """A bare aiosmtpd server whose handler answers 250 at once: the floor our intake builds on.
    With `arrivals`, it also writes each message's In-Reply-To and arrival time (--relay-sink)."""
    import asyncio

    from aiosmtpd.smtp import SMTP

    log = open(arrivals, "a", buffering=1) if arrivals else None  # noqa: SIM115 - lives as long as the server

    class Accept:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            if log is not None:
                head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
                found = [line for line in head.split(b"\r\n") if line.lower().startswith(b"in-reply-to:")]
                if found:
                    log.write(f"{found[0].split(b':', 1)[1].strip().decode()} {time.monotonic()}\n")
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Accept(), loop=loop), "127.0.0.1", 0)
        Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.sleep(3600)

    asyncio.run(serve())



if __name__ == "__main__":
    bare_server(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
