"""Several gateway nodes on one PostgreSQL (issue 15): `bench/intake.py --nodes 1,2,3`.

For each N: N real `support-gateway run` daemons on one fresh schema (`[database] shared = true`,
the reply-token secret from the environment, `[gateway] node = "gw-K"`, each its own SMTP port),
the mails spread over the nodes' ports, and three figures:

- end-to-end msg/s: first DATA sent → the last acknowledgement in the outbox;
- CPU per mail: user + system time of every daemon and every process it started (work process,
  resource tracker), from /proc, divided by the mails;
- lock waits as a share of wall time: a thread samples pg_stat_activity every ~20 ms and counts
  this database's backends waiting on a heavyweight lock (`wait_event_type = 'Lock'`, e.g. a row
  lock another node's claim holds); backend-seconds waiting / wall seconds. The issue's ceiling is 5 %.

The issue's other bound: adding a node must not raise CPU per mail by more than 15 %.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import drop_schema, fresh_pg_url, sample_mail, settings_text  # noqa: E402
from store.db import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402

SECRET_ENV = "SG_BENCH_TOKEN_SECRET"


class Node:
    """One `support-gateway run` named gw-K with its own folder; its SMTP port read from the banner."""

    def __init__(self, number: int, db_url: str) -> None:
        self.name = f"gw-{number}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"sg-bench-{self.name}-"))
        config = self.dir / "gateway.toml"
        config.write_text(settings_text(
            self.dir / "var", db_url, gateway_extra=f'node = "{self.name}"', database_extra="shared = true",
            sections=f'[tokens]\nsecret_env = "{SECRET_ENV}"\n'), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", "--config", str(config), "run"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, SECRET_ENV: "b" * 48})
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        if "SMTP on" not in banner:
            raise SystemExit(f"{self.name} did not start: {banner!r}")
        self.port = int(banner.split("127.0.0.1:")[1].split(";")[0])

    def pids(self) -> list[int]:
        """The daemon and every process below it (work process, resource tracker)."""
        found, waiting = [], [self.process.pid]
        while waiting:
            pid = waiting.pop()
            found.append(pid)
            children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
            waiting.extend(int(child) for child in children)
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        if self.process.stdout is not None:
            self.process.stdout.close()


class LockWaits:
    """Samples pg_stat_activity every `interval` s: backend-seconds spent waiting on a lock."""

    QUERY = text("SELECT count(*) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND wait_event_type = 'Lock'")

    def __init__(self, base_url: str, interval: float = 0.02) -> None:
        self.engine = make_engine(base_url)
        self.interval = interval
        self.waiting_seconds = 0.0
        self.samples = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self) -> None:
        with self.engine.connect() as connection:
            last = time.perf_counter()
            while not self._stop.is_set():
                waiting = int(connection.execute(self.QUERY).scalar() or 0)
                connection.rollback()  # a fresh snapshot of pg_stat_activity on each sample
                now = time.perf_counter()
                self.waiting_seconds += waiting * (now - last)
                self.samples += 1
                self.peak = max(self.peak, waiting)
                last = now
                self._stop.wait(self.interval)


def _cpu(pids: list[int]) -> float:
    from bench.intake import cpu_seconds

    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except FileNotFoundError:
            pass
    return total


def _incident_numbers(db_url: str) -> tuple[int, int]:
    """(incidents, highest incident number): equal when the numbers are gap-free across nodes."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            found, highest = connection.execute(text("SELECT count(*), coalesce(max(number), 0) FROM incidents")).one()
    finally:
        engine.dispose()
    return int(found), int(highest)


def spread(ports: list[int], mails: list[bytes], connections: int) -> None:
    """Send the mails over `connections` connections per node, each node its share (round robin)."""
    from bench.intake import send_all

    shares = [mails[k::len(ports)] for k in range(len(ports))]
    threads = [threading.Thread(target=send_all, args=(port, share, connections, None))
               for port, share in zip(ports, shares)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_nodes(count: int, pg_url: str, mails: int, connections: int) -> dict[str, float]:
    """One run with `count` nodes on a fresh schema; prints and returns its figures."""
    from bench.intake import wait_outbox

    db_url, schema = fresh_pg_url(pg_url)
    engine = make_engine(db_url)
    upgrade(engine)  # as the operator does once (`db upgrade`) before the first node starts
    engine.dispose()
    nodes: list[Node] = []
    try:
        nodes = [Node(k, db_url) for k in range(1, count + 1)]
        batch = [sample_mail(i) for i in range(mails)]
        time.sleep(1.0)
        pids = [pid for node in nodes for pid in node.pids()]
        cpu_before = _cpu(pids)
        load_before = os.getloadavg()[0]
        with LockWaits(pg_url) as locks:
            began = time.perf_counter()
            spread([node.port for node in nodes], batch, connections)
            queued = wait_outbox(db_url, mails, sent=False)
        wall = queued - began
        numbers = _incident_numbers(db_url)
        figures = {"nodes": count, "msg_per_s": mails / wall, "cpu_ms_per_mail": (_cpu(pids) - cpu_before) / mails * 1000,
                   "lock_wait_share": locks.waiting_seconds / wall}
        print(f"postgresql, {count} node{'s' if count > 1 else ''}: {mails} mails over {connections} connections "
              f"per node: end-to-end (ack in outbox) {figures['msg_per_s']:.0f} msg/s, CPU per mail (all daemons "
              f"and work processes) {figures['cpu_ms_per_mail']:.2f} ms, lock waits {figures['lock_wait_share']:.2%} "
              f"of wall time (peak {locks.peak} backends, {locks.samples} samples; "
              f"load average before the run: {load_before:.2f})")
        print(f"postgresql, {count} node{'s' if count > 1 else ''}: {numbers[0]} incidents, highest number "
              f"{numbers[1]}: {numbers[1] - numbers[0]} reference numbers reserved and never used")
        return figures
    finally:
        for node in nodes:
            node.stop()
        drop_schema(pg_url, schema)


def run_all(counts: list[int], pg_url: str, mails: int, connections: int) -> None:
    """Each node count in turn, then how CPU per mail moved against the first (the issue's +15 % bound)."""
    results = [run_nodes(count, pg_url, mails, connections) for count in counts]
    first = results[0]
    for result in results[1:]:
        change = result["cpu_ms_per_mail"] / first["cpu_ms_per_mail"] - 1
        print(f"postgresql: {result['nodes']:.0f} nodes against {first['nodes']:.0f}: CPU per mail {change:+.0%} "
              f"(bound +15 %), msg/s x{result['msg_per_s'] / first['msg_per_s']:.2f}, lock waits "
              f"{result['lock_wait_share']:.2%} (bound 5 %)")
