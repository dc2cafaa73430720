"""SLA scheduler benchmark: one tick over a store of 1,000,000 open incidents, 1,000 of them due.

Bulk-loads N open incidents (each with its "opened" event) into a fresh store —
executemany on SQLite, COPY on PostgreSQL — with next due times spread over
the coming month, except D incidents that are due now (Enhanced Plus,
severity 1, opened three hours ago: the response target is breached, a status
report and a support-manager escalation are due). Then times:

- find:    the indexed query that selects (and locks) the due incidents
           (median of several runs, each in its own rolled-back transaction);
           target ≤ 20 ms for 1,000 due among 1,000,000 open (issue 14);
- process: one real scheduler tick (clock, letters, outbox rows, commit), wall and CPU
           time; target ≤ 1 s for 1,000 due notices (issue 14);
- and the query plan, to show the cost grows with the number due, not open.

    .venv/bin/python bench/sla.py                       # SQLite and PostgreSQL (if reachable)
    .venv/bin/python bench/sla.py --db sqlite --open 200000 --due 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.app import build_app  # noqa: E402
from gateway.clock import FixedClock  # noqa: E402
from gateway.work.directory import sync_customers  # noqa: E402
from gateway.work.scheduler import find_due, tick  # noqa: E402
from gateway.settings import settings_from_dict  # noqa: E402
from store.customers import Customer  # noqa: E402
from store.db import make_engine, make_sessionmaker  # noqa: E402
from store.incidents import Incident, IncidentEvent  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.outbox import OutboxMessage  # noqa: E402

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # Tuesday 15:00 JST
CHUNK = 20_000
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def settings(data_dir: Path, url: str) -> Any:
    return settings_from_dict({
        "gateway": {"support_addresses": ["support@support.example.test"], "data_dir": str(data_dir)},
        "database": {"url": url, "sqlite_synchronous": "NORMAL"},
        "engineers": {"queue_address": "engineers@vendor.test"},
        "escalation": {"support-manager": ["manager@vendor.test"]},
        "customers": [{"key": "bench", "name": "Bench Corp", "plan": "enhanced-plus", "locale": "ja",
                       "domains": ["bench.test"], "contacts": ["contact@bench.test"]}],
    })


def _rows(count: int, due: int) -> Any:
    """(number, opened_at, severity, next_due_at) for every incident; the due ones spread evenly."""
    step = max(count // max(due, 1), 1)
    for number in range(1, count + 1):
        if due and number % step == 0 and number // step <= due:
            yield number, NOW - timedelta(hours=3), 1, NOW - timedelta(minutes=number % 60 + 1)
        else:
            yield number, NOW - timedelta(days=1), 3, NOW + timedelta(minutes=1 + number % 43_200)


def load(engine: Engine, customer_id: int, count: int, due: int) -> float:
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        _copy(engine, customer_id, count, due)
    else:
        _executemany(engine, customer_id, count, due)
    return time.perf_counter() - started


def _incident(customer_id: int, number: int, opened: datetime, severity: int, next_due: datetime) -> dict[str, Any]:
    return {"id": number, "number": number, "customer_id": customer_id, "plan": "enhanced-plus",
            "subject": f"bench incident {number}", "severity": severity, "requested_severity": None, "cues": [],
            "status": "open", "side": "vendor", "opened_by": "contact@bench.test", "opened_at": opened,
            "updated_at": opened, "next_due_at": next_due}


def _event(number: int, opened: datetime, severity: int) -> dict[str, Any]:
    return {"incident_id": number, "at": opened, "type": "opened",
            "data": {"severity": severity, "requested_severity": None, "plan": "enhanced-plus",
                     "customer": "bench", "side": "vendor", "inbound_id": None, "cues": []}}


def _executemany(engine: Engine, customer_id: int, count: int, due: int) -> None:
    incidents, events = [], []
    with engine.begin() as connection:
        for number, opened, severity, next_due in _rows(count, due):
            incidents.append(_incident(customer_id, number, opened, severity, next_due))
            events.append(_event(number, opened, severity))
            if len(incidents) >= CHUNK:
                connection.execute(insert(Incident.__table__), incidents)
                connection.execute(insert(IncidentEvent.__table__), events)
                incidents, events = [], []
        if incidents:
            connection.execute(insert(Incident.__table__), incidents)
            connection.execute(insert(IncidentEvent.__table__), events)


def _copy(engine: Engine, customer_id: int, count: int, due: int) -> None:
    def naive(at: datetime) -> str:
        return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy("COPY incidents (id, number, customer_id, plan, subject, severity, cues, status, side, "
                         "opened_by, opened_at, updated_at, next_due_at) FROM STDIN") as copy:
            for number, opened, severity, next_due in _rows(count, due):
                copy.write_row((number, number, customer_id, "enhanced-plus", f"bench incident {number}", severity,
                                "[]", "open", "vendor", "contact@bench.test", naive(opened), naive(opened),
                                naive(next_due)))
        with cursor.copy("COPY incident_events (incident_id, at, type, data) FROM STDIN") as copy:
            for number, opened, severity, _ in _rows(count, due):
                copy.write_row((number, naive(opened), "opened",
                                '{"severity": %d, "requested_severity": null, "plan": "enhanced-plus", '
                                '"customer": "bench", "side": "vendor", "inbound_id": null, "cues": []}' % severity))
        cursor.execute("SELECT setval(pg_get_serial_sequence('incidents', 'id'), %s)", (count,))
        cursor.execute("ANALYZE incidents")
        cursor.execute("ANALYZE incident_events")
        raw.commit()
    finally:
        raw.close()


def query_plan(engine: Engine) -> str:
    with engine.connect() as connection:
        statement = select(Incident.id).where(Incident.next_due_at <= NOW).order_by(Incident.next_due_at).limit(1000)
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": False})
        params = {k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                  for k, v in compiled.params.items()}
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        rows = connection.exec_driver_sql(prefix + str(compiled), tuple(params.values())
                                          if engine.dialect.name == "sqlite" else params).all()
    return " | ".join(str(r[-1]) for r in rows)


def run(name: str, url: str, count: int, due: int, data_dir: Path) -> dict[str, Any]:
    engine = make_engine(url, sqlite_synchronous="NORMAL")
    writers = make_engine(url, sqlite_synchronous="NORMAL", immediate=True)
    try:
        upgrade(engine)
        config = settings(data_dir, url)
        app = build_app(config)
        sessions, writer_sessions = make_sessionmaker(engine), make_sessionmaker(writers)
        with sessions.begin() as session:
            sync_customers(session, config.customers, NOW)
            customer_id = session.scalar(select(Customer.id).where(Customer.key == "bench"))
        load_seconds = load(engine, customer_id, count, due)
        finds, find_cpus, found = [], [], 0
        for _ in range(7):
            with writer_sessions.begin() as session:
                started, cpu = time.perf_counter(), time.process_time()
                found = len(find_due(session, NOW, 1000))
                finds.append(time.perf_counter() - started)
                find_cpus.append(time.process_time() - cpu)
                session.rollback()
        started, cpu = time.perf_counter(), time.process_time()
        done = tick(app, writer_sessions, FixedClock(NOW), limit=1000)
        process_seconds, process_cpu = time.perf_counter() - started, time.process_time() - cpu
        with sessions() as session:
            outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
            left = session.scalar(select(func.count()).select_from(Incident).where(Incident.next_due_at <= NOW))
        return {"db": name, "open": count, "due": found, "load_s": round(load_seconds, 1),
                "find_ms_median": round(statistics.median(finds) * 1000, 2),
                "find_ms_min": round(min(finds) * 1000, 2), "find_cpu_ms_min": round(min(find_cpus) * 1000, 2),
                "tick_s": round(process_seconds, 2), "tick_cpu_s": round(process_cpu, 2),
                "tick_incidents": done, "outbox_rows": outbox, "still_due_after_tick": left,
                "loadavg": os.getloadavg()[0],
                "plan": query_plan(engine)}
    finally:
        engine.dispose()
        writers.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    pg = os.environ.get("SUPPORT_GATEWAY_TEST_PG", PG_DEFAULT)
    with tempfile.TemporaryDirectory(prefix="bench-sla-") as workdir:
        work = Path(workdir)
        if args.db in ("sqlite", "both"):
            print(run("sqlite", f"sqlite:///{work / 'sla.db'}", args.open, args.due, work / "sqlite"), flush=True)
        if args.db in ("postgresql", "both"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(pg)
            try:
                with admin.begin() as connection:
                    connection.execute(text(f"CREATE SCHEMA {schema}"))
                separator = "&" if "?" in pg else "?"
                url = f"{pg}{separator}options=-csearch_path%3D{schema}"
                print(run("postgresql", url, args.open, args.due, work / "pg"), flush=True)
            except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, keep the SQLite figure
                print(f"postgresql: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
            finally:
                try:
                    with admin.begin() as connection:
                        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                finally:
                    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
