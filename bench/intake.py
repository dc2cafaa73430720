"""Intake benchmark: SMTP → commit → parse → incident → ack in the outbox, through the real daemon.

Prints, per database: end-to-end msg/s for N mails from several concurrent
connections, DATA→250 latency p50/p99 at a fixed offered rate, and the peak
memory of accepting and processing one 25 MB mail.

    .venv/bin/python bench/intake.py                    # SQLite and PostgreSQL (if reachable)
    .venv/bin/python bench/intake.py --db sqlite --mails 5000 --connections 8
    .venv/bin/python bench/intake.py --db both --mails 4000 --rated-mails 2000 --repeat 3 --baseline
    .venv/bin/python bench/intake.py --db sqlite --relay-sink --skip-memory   # + 250 → ack at the relay
    .venv/bin/python bench/intake.py --nodes 1,2,3 --mails 3000 --baseline   # several nodes (bench/nodes.py)

With --relay-sink the acknowledgements go to a real SMTP relay (tests/support's aiosmtpd sink)
instead of the folder, and the rated run also prints the time from a mail's 250 to its
acknowledgement arriving at the relay (issue 10: p99 ≤ 1 s at 200 msg/s offered).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CONTACTS, SUPPORT, drop_schema, fresh_pg_url, percentile, sample_mail, settings_text,
)
from bench.relay import AckClock, bare_server  # noqa: E402
from store.db import make_engine  # noqa: E402
from store.outbox import OutboxMessage  # noqa: E402



def config_text(data_dir: Path, db_url: str, max_message_size: int | None = None, relay_port: int | None = None) -> str:
    extra = f"max_message_size = {max_message_size}" if max_message_size else ""
    relay = f'[relay]\nhost = "127.0.0.1"\nport = {relay_port}\n' if relay_port else ""
    return settings_text(data_dir, db_url, smtp_extra=extra, sections=relay)


class Daemon:
    def __init__(self, db_url: str, max_message_size: int = 30 * 1024 * 1024, relay_port: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sg-bench-"))
        self.config = self.dir / "gateway.toml"
        self.config.write_text(config_text(self.dir / "var", db_url, max_message_size, relay_port), encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", "--config", str(self.config), "run"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        if "SMTP on" not in banner:
            raise SystemExit(f"daemon did not start: {banner!r}")
        self.port = int(banner.split("127.0.0.1:")[1].split(";")[0])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def send_all(port: int, mails: list[bytes], connections: int, rate: float | None,
             answered_at: dict[int, float] | None = None) -> list[float]:
    """Send `mails` over `connections` reused connections; return DATA→250 latencies in seconds
    (and, into `answered_at`, when each mail's 250 came, by index)."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(slot: int) -> None:
        mine: list[float] = []
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.ehlo()
            for index in range(slot, len(mails), connections):
                if rate:
                    delay = start + index / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                client.mail(CONTACTS[index % len(CONTACTS)])
                client.rcpt(SUPPORT)
                began = time.perf_counter()
                code, reply = client.data(mails[index])
                mine.append(time.perf_counter() - began)
                if answered_at is not None:
                    answered_at[index] = time.monotonic()  # the relay process stamps with the same clock
                if code != 250:
                    with lock:
                        failures.append(f"DATA answered {code} {reply!r}")
                    return
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    return latencies


def wait_outbox(db_url: str, expected: int, *, sent: bool, timeout: float = 600) -> float:
    """Wait until `expected` acks are in the outbox (or, with sent=True, delivered); return the time."""
    engine = make_engine(db_url)
    query = select(func.count()).select_from(OutboxMessage)
    if sent:
        query = query.where(OutboxMessage.state == "sent")
    try:
        deadline = time.perf_counter() + timeout
        count = 0
        while time.perf_counter() < deadline:
            with engine.connect() as connection:
                count = connection.scalar(query) or 0
            if count >= expected:
                return time.perf_counter()
            time.sleep(0.01)
        raise SystemExit(f"only {count} of {expected} acks {'sent' if sent else 'queued'} in {timeout} s")
    finally:
        engine.dispose()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_database(name: str, db_url: str, mails: int, connections: int, rate: float, rated_mails: int,
                 relay_sink: bool = False) -> None:
    acks = AckClock() if relay_sink else None
    daemon = Daemon(db_url, relay_port=acks.port if acks else None)
    try:
        batch = [sample_mail(i) for i in range(mails)]
        time.sleep(1.0)
        worker = work_pid(daemon.process.pid)
        cpu_before = cpu_seconds(daemon.process.pid), cpu_seconds(worker)
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        latencies = send_all(daemon.port, batch, connections, None)
        intake_done = time.perf_counter()
        queued = wait_outbox(db_url, mails, sent=False)
        delivered = wait_outbox(db_url, mails, sent=True)
        cpu_after = cpu_seconds(daemon.process.pid), cpu_seconds(worker)
        print(f"{name}: {mails} mails over {connections} connections: "
              f"end-to-end (ack in outbox) {mails / (queued - began):.0f} msg/s, "
              f"acks delivered to the {'relay sink' if acks else 'folder'} {mails / (delivered - began):.0f} msg/s, "
              f"intake (250 answered) {mails / (intake_done - began):.0f} msg/s; "
              f"DATA→250 under full load p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms")
        print(f"{name}: CPU per mail: intake process {(cpu_after[0] - cpu_before[0]) / mails * 1000:.2f} ms, "
              f"work process {(cpu_after[1] - cpu_before[1]) / mails * 1000:.2f} ms "
              f"(load average before the run: {load_before:.2f})")
        rated = [sample_mail(mails + i) for i in range(rated_mails)]
        answered_at: dict[int, float] = {}
        latencies = send_all(daemon.port, rated, connections, rate, answered_at)
        wait_outbox(db_url, mails + rated_mails, sent=True)
        print(f"{name}: at {rate:.0f} msg/s offered ({rated_mails} mails): "
              f"DATA→250 p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms")
        if acks is not None:
            acks.report(name, rate, rated, answered_at)
    finally:
        daemon.stop()
        if acks is not None:
            acks.stop()


def big_mail(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = CONTACTS[0]
    message["To"] = SUPPORT
    message["Subject"] = "Full memory dump attached"
    message["Message-ID"] = f"<big.{uuid.uuid4().hex}@example.test>"
    message.set_content("The dump is attached.\n")
    message.add_attachment(os.urandom(size * 3 // 4 - 4096), maintype="application", subtype="octet-stream",
                           filename="memory.dmp")
    return message.as_bytes(policy=policy.SMTP)


def memory_child(db_url: str, size: int) -> None:
    """Run in a fresh process: accept and process one big mail; print peak figures as JSON."""
    import tracemalloc
    from datetime import datetime, timezone

    from gateway.app import build_app
    from gateway.clock import FixedClock
    from gateway.core.model import Envelope
    from gateway.work.directory import sync_customers
    from gateway.intake.ingest import accept_raw
    from gateway.work.processor import process_one
    from gateway.settings import settings_from_dict
    from store.db import make_sessionmaker
    from store.migrate import upgrade
    import tomllib

    data_dir = Path(tempfile.mkdtemp(prefix="sg-mem-"))
    settings = settings_from_dict(tomllib.loads(config_text(data_dir, db_url)))
    app = build_app(settings)
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FixedClock(datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc))
    with sessions.begin() as session:
        sync_customers(session, settings.customers, clock.now())
    raw = big_mail(size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    accepted = accept_raw(sessions, raw, Envelope(CONTACTS[0], (SUPPORT,)), source="smtp", now=clock.now())
    state = process_one(app, sessions, accepted.inbound_id, clock.now())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"size": len(raw), "state": state, "traced_peak": peak,
                      "rss_growth": rss_after - rss_before}))


def run_memory(name: str, db_url: str, size: int) -> None:
    output = subprocess.run([sys.executable, __file__, "--memory-child", db_url, "--size", str(size)],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout
    result = json.loads(output.strip().splitlines()[-1])
    mb = result["size"] / 1e6
    print(f"{name}: one {mb:.1f} MB mail ({result['state']}): Python peak {result['traced_peak'] / 1e6:.1f} MB "
          f"({result['traced_peak'] / result['size']:.2f}x), RSS growth {result['rss_growth'] / 1e6:.1f} MB "
          f"({result['rss_growth'] / result['size']:.2f}x)")


def peak_rss(pid: int) -> int:
    """VmHWM of a process: its peak resident memory so far, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def work_pid(daemon_pid: int) -> int | None:
    children = subprocess.run(["pgrep", "-P", str(daemon_pid)], capture_output=True, text=True).stdout.split()
    for child in children:
        with open(f"/proc/{child}/cmdline", "rb") as handle:
            command = handle.read()
        if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
            return int(child)
    return None


def run_smtp_memory(name: str, db_url: str, size: int) -> None:
    """One big mail through the real daemon: peak RSS growth of the intake and of the work process."""
    daemon = Daemon(db_url, max_message_size=size * 2)
    try:
        time.sleep(1.0)
        worker = work_pid(daemon.process.pid)
        before = peak_rss(daemon.process.pid), peak_rss(worker) if worker else 0
        raw = big_mail(size)
        with smtplib.SMTP("127.0.0.1", daemon.port, timeout=120) as client:
            client.sendmail(CONTACTS[0], [SUPPORT], raw)
        wait_outbox(db_url, 1, sent=False)
        after = peak_rss(daemon.process.pid), peak_rss(worker) if worker else 0
        mb = len(raw) / 1e6
        print(f"{name}: one {mb:.1f} MB mail over SMTP: intake process peak RSS +{(after[0] - before[0]) / 1e6:.1f} MB "
              f"({(after[0] - before[0]) / len(raw):.2f}x), work process +{(after[1] - before[1]) / 1e6:.1f} MB "
              f"({(after[1] - before[1]) / len(raw):.2f}x)")
    finally:
        daemon.stop()


def run_baseline(mails: int, connections: int) -> None:
    port_file = Path(tempfile.mkdtemp(prefix="sg-bare-")) / "port"
    server = subprocess.Popen([sys.executable, __file__, "--bare-server", str(port_file)])
    try:
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        batch = [sample_mail(i) for i in range(mails)]
        before = cpu_seconds(server.pid)
        began = time.perf_counter()
        send_all(int(port_file.read_text()), batch, connections, None)
        elapsed = time.perf_counter() - began
        print(f"baseline: bare aiosmtpd answering 250 at once: {mails / elapsed:.0f} msg/s, "
              f"server CPU {(cpu_seconds(server.pid) - before) / mails * 1000:.2f} ms per mail")
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--rated-mails", type=int, default=2000)
    parser.add_argument("--pg-url", default=os.environ.get("SUPPORT_GATEWAY_TEST_PG",
                                                           "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--size", type=int, default=25 * 1024 * 1024)
    parser.add_argument("--memory-child")
    parser.add_argument("--bare-server", help=argparse.SUPPRESS)
    parser.add_argument("--arrivals", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true",
                        help="also measure a bare aiosmtpd server (handler answers 250 at once)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--relay-sink", action="store_true",
                        help="send the acknowledgements to a real SMTP relay sink and time 250 → ack at the relay")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per database (each with a fresh daemon and store): this 2-core VM's speed "
                             "drifts by up to 1.4x, so quote the range, and --baseline beside it")
    parser.add_argument("--nodes", help="PostgreSQL only: run N daemons on one schema, for each N of a "
                                        "comma-separated list (e.g. 1,2,3); see bench/nodes.py")
    args = parser.parse_args()
    if args.nodes:
        from bench.nodes import run_all

        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
        if args.baseline:
            run_baseline(args.mails, args.connections)
        run_all([int(count) for count in args.nodes.split(",")], args.pg_url, args.mails, args.connections)
        return
    if args.memory_child:
        memory_child(args.memory_child, args.size)
        return
    if args.bare_server:
        bare_server(args.bare_server, args.arrivals)
        return
    schemas: list[str] = []  # throw-away PostgreSQL schemas, dropped at the end

    def postgresql_url() -> str:
        url, schema = fresh_pg_url(args.pg_url)
        schemas.append(schema)
        return url

    targets = []
    if args.db in ("sqlite", "both"):
        targets.append(("sqlite", lambda: f"sqlite:///{tempfile.mkdtemp(prefix='sg-db-')}/gateway.db"))
    if args.db in ("postgresql", "both"):
        targets.append(("postgresql", postgresql_url))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if args.baseline:
        run_baseline(args.mails, args.connections)
    try:
        for name, url in targets:
            for _ in range(args.repeat):
                run_database(name, url(), args.mails, args.connections, args.rate, args.rated_mails, args.relay_sink)
            if not args.skip_memory:
                run_memory(name, url(), args.size)
                run_smtp_memory(name, url(), args.size)
    finally:
        for schema in schemas:
            drop_schema(args.pg_url, schema)


if __name__ == "__main__":
    main()
