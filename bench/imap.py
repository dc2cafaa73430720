"""IMAP intake benchmark: a mailbox of N waiting mails drained through the whole path by the real daemon.

APPENDs N mails (default 3,000) to a private Dovecot on loopback, then starts
`support-gateway run` with one [[imap]] account and times, from its start-up
banner, until every mail has been fetched, committed, moved to Processed
(intake) and turned into an incident whose acknowledgement is sent to the
outgoing folder (end-to-end). Prints msg/s per database. Target: ≥ 300 msg/s.

    .venv/bin/python bench/imap.py                       # SQLite and PostgreSQL (if reachable)
    .venv/bin/python bench/imap.py --db sqlite --mails 5000 --batch 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import drop_schema, fresh_pg_url, sample_mail, settings_text  # noqa: E402
from store.db import make_engine  # noqa: E402
from store.inbound import InboundMessage  # noqa: E402
from store.outbox import OutboxMessage  # noqa: E402
from tests.support.dovecot import Dovecot, MailUser  # noqa: E402

PASSWORD_ENV = "SG_BENCH_IMAP_PASSWORD"


def config_text(data_dir: Path, db_url: str, dovecot: Dovecot, user: MailUser, batch: int) -> str:
    return settings_text(data_dir, db_url, sections=f"""
[[imap]]
name = "bench"
host = "127.0.0.1"
port = {dovecot.port}
security = "plain"
user = "{user.name}"
password_env = "{PASSWORD_ENV}"
batch_size = {batch}
poll_interval = 5
""")


class Counter:
    """Counts rows in the daemon's database over one connection pool (polled every 20 ms)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def inbound(self) -> int:
        return self._count(select(func.count()).select_from(InboundMessage))

    def sent(self) -> int:
        return self._count(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "sent"))

    def _count(self, query: Any) -> int:
        try:
            with self.engine.connect() as connection:
                return int(connection.scalar(query) or 0)
        except Exception:  # noqa: BLE001 - the schema may not exist in the daemon's first milliseconds
            return 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def run_database(name: str, db_url: str, dovecot: Dovecot, mails: int, batch: int) -> None:
    user = dovecot.add_user()
    began = time.perf_counter()
    dovecot.append_many(user, [sample_mail(i) for i in range(mails)])
    print(f"{name}: appended {mails} mails in {time.perf_counter() - began:.1f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="sg-bench-imap-"))
    config = work / "gateway.toml"
    config.write_text(config_text(work / "var", db_url, dovecot, user, batch), encoding="utf-8")
    env = {**os.environ, PASSWORD_ENV: user.password}
    daemon = subprocess.Popen([sys.executable, "-m", "gateway", "--log-level", "WARNING", "--config",
                               str(config), "run"], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert daemon.stdout is not None
        banner = daemon.stdout.readline()
        if "SMTP on" not in banner:
            raise SystemExit(f"daemon did not start: {banner!r}")
        started = time.perf_counter()
        rows = Counter(db_url)
        intake = wait_for(lambda: rows.inbound() >= mails and not dovecot.uids(user), 600, "intake")
        done = wait_for(lambda: rows.sent() >= mails, 600, "acks")
        rows.engine.dispose()
        print(f"{name}: {mails} mails (batch {batch}): end-to-end {mails / (done - started):.0f} msg/s "
              f"(IMAP intake only {mails / (intake - started):.0f} msg/s); "
              f"{len(dovecot.uids(user, 'Processed'))} moved to Processed", flush=True)
    finally:
        daemon.terminate()
        daemon.wait(timeout=120)
        if daemon.stdout is not None:
            daemon.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=50, help="UIDs per FETCH ([[imap]] batch_size)")
    parser.add_argument("--pg", default=os.environ.get("SUPPORT_GATEWAY_TEST_PG",
                                                        "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    dovecot = Dovecot().start()
    try:
        if args.db in ("sqlite", "both"):
            work = Path(tempfile.mkdtemp(prefix="sg-bench-db-"))
            try:
                run_database("sqlite", f"sqlite:///{work / 'gateway.db'}", dovecot, args.mails, args.batch)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        if args.db in ("postgresql", "both"):
            try:
                url, schema = fresh_pg_url(args.pg)
            except Exception as exc:  # noqa: BLE001
                print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
                return
            try:
                run_database("postgresql", url, dovecot, args.mails, args.batch)
            finally:
                drop_schema(args.pg, schema)
    finally:
        dovecot.close()


if __name__ == "__main__":
    main()
