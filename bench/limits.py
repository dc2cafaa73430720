"""What the rate limits cost the work process: CPU per mail with `[limits]` on and off, in process.

The same mails (N from 8 contacts, so every window is looked up and rows are
written, but the generous limit never fills) are processed twice on fresh
SQLite stores, limits on and off, alternating; printed is the work step's CPU
time per mail (parse → decide → plan → write, the lookup and the rows of
automatic_letters included). This is the worst case for the lookup: with the
real limits a recipient has at most ~100 rows in the longest window (the limit
itself caps them); here every contact's rows keep growing. The end-to-end
figures stay bench/intake.py's.

    .venv/bin/python bench/limits.py --mails 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import CONTACTS, SUPPORT, sample_mail, settings_text  # noqa: E402
from gateway.app import build_app  # noqa: E402
from gateway.clock import FixedClock  # noqa: E402
from gateway.core.model import Envelope  # noqa: E402
from gateway.intake.ingest import accept_raw  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from gateway.work.directory import sync_customers  # noqa: E402
from gateway.work.processor import process_pending  # noqa: E402
from store.db import make_engine, make_sessionmaker  # noqa: E402
from store.migrate import upgrade  # noqa: E402


def cpu_per_mail(mails: list[bytes], enabled: bool) -> float:
    folder = Path(tempfile.mkdtemp(prefix="sg-limits-"))
    url = f"sqlite:///{folder / 'gateway.db'}"
    data = tomllib.loads(settings_text(folder / "var", url))
    data["limits"]["enabled"] = enabled
    app = build_app(settings_from_dict(data))
    engine = make_engine(url, sqlite_synchronous="NORMAL")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FixedClock(datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc))
    with sessions.begin() as session:
        sync_customers(session, app.settings.customers, clock.now())
    for index, raw in enumerate(mails):
        accept_raw(sessions, raw, Envelope(CONTACTS[index % len(CONTACTS)], (SUPPORT,)), source="smtp",
                   now=clock.now())
    began = time.process_time()
    while process_pending(app, sessions, clock, limit=100):
        pass
    spent = time.process_time() - began
    engine.dispose()
    return spent / len(mails) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    mails = [sample_mail(i) for i in range(args.mails)]
    figures: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeat):
        for enabled in (True, False):
            figures[enabled].append(cpu_per_mail(mails, enabled))
    for enabled, values in figures.items():
        print(f"limits {'on ' if enabled else 'off'}: work CPU per mail median {statistics.median(values):.3f} ms "
              f"(runs: {', '.join(f'{v:.3f}' for v in values)}; {args.mails} mails from {len(CONTACTS)} contacts)")


if __name__ == "__main__":
    main()
