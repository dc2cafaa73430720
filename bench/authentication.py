"""CPU per mail of `[authentication]` (issue 10: checking signatures costs ≤ 1 ms CPU per mail, DNS answered locally).

Run: .venv/bin/python bench/authentication.py [--mails 1000]

Every mail is bench.common's typical ~3.6 kB customer mail, DKIM-signed (rsa-sha256, 2048-bit
key, relaxed/simple) by its From domain; keys come from a local zone file, so no figure
includes a DNS round trip. Three figures:

1. the DKIM check alone: Authenticator.verdict() on mails already parsed;
2. reading a trusted Authentication-Results header alone (the MTA did the check);
3. the processor (parse → decide → rows → SQLite commit) with and without `verify = "dkim"`:
   the difference per mail is what authentication adds to the real path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import CONTACTS, SUPPORT, sample_mail, settings_text  # noqa: E402
from gateway.app import build_app  # noqa: E402
from gateway.clock import FixedClock  # noqa: E402
from gateway.core.model import Envelope  # noqa: E402
from gateway.intake.ingest import Arrival, accept_many  # noqa: E402
from gateway.settings import AuthenticationSection, settings_from_dict  # noqa: E402
from gateway.work.authentication import Authenticator, authenticator_for  # noqa: E402
from gateway.work.directory import sync_customers  # noqa: E402
from gateway.work.processor import process_pending  # noqa: E402
from gateway.work.txt_records import ZoneFile  # noqa: E402
from parsers import parse_mail  # noqa: E402
from store.db import make_engine, make_sessionmaker  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tests.support.dkim_signing import signed, write_zone, zone_text  # noqa: E402

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
MTA = "mx.vendor.example"


def per_mail_us(seconds: float, count: int) -> str:
    return f"{seconds / count * 1e6:7.0f} µs CPU per mail"


def dkim_only(mails: list[bytes]) -> None:
    checker = Authenticator(AuthenticationSection(verify="dkim"), ZoneFile.from_text(zone_text({"example.test": "a"})))
    parsed = [parse_mail(raw) for raw in mails]
    start = time.process_time()
    verdicts = [checker.verdict(raw, mail) for raw, mail in zip(mails, parsed, strict=True)]
    spent = time.process_time() - start
    assert all(v.passed for v in verdicts), {v.detail for v in verdicts if not v.passed}
    print(f"DKIM verify only ({len(mails)} signed mails):           {per_mail_us(spent, len(mails))}")


def authres_only(mails: list[bytes]) -> None:
    checker = Authenticator(AuthenticationSection(trusted_authserv_ids=[MTA]), ZoneFile({}))
    stamped = [f"Authentication-Results: {MTA}; dkim=pass header.d=example.test header.s=s2026; "
               "dmarc=pass header.from=example.test\r\n".encode() + raw for raw in mails]
    parsed = [parse_mail(raw) for raw in stamped]
    start = time.process_time()
    verdicts = [checker.verdict(raw, mail) for raw, mail in zip(stamped, parsed, strict=True)]
    spent = time.process_time() - start
    assert all(v.passed for v in verdicts)
    print(f"trusted Authentication-Results only:              {per_mail_us(spent, len(mails))}")


def through_the_processor(mails: list[bytes], section: str) -> float:
    """CPU seconds this process spends processing `mails` (accepted beforehand) on a fresh SQLite."""
    with tempfile.TemporaryDirectory(prefix="sg-auth-bench-") as folder:
        data_dir = Path(folder)
        url = f"sqlite:///{data_dir / 'gateway.db'}"
        sections = section.replace("ZONE", str(write_zone(data_dir / "keys.zone", {"example.test": "a"})))
        settings = settings_from_dict(tomllib.loads(settings_text(data_dir, url, sections=sections)))
        app, engine = build_app(settings), make_engine(url, sqlite_synchronous="NORMAL")
        upgrade(engine)
        sessions, clock = make_sessionmaker(engine), FixedClock(NOW)
        with sessions.begin() as session:
            sync_customers(session, settings.customers, NOW)
        accept_many(sessions, [Arrival(raw, Envelope(CONTACTS[0], (SUPPORT,)), "smtp") for raw in mails], NOW)
        authenticator = authenticator_for(settings)
        start = time.process_time()
        while process_pending(app, sessions, clock, 100, authenticator=authenticator):
            pass
        spent = time.process_time() - start
        engine.dispose()
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    args = parser.parse_args()
    mails = [signed(sample_mail(i), "example.test") for i in range(args.mails)]
    dkim_only(mails)
    authres_only(mails)
    off = through_the_processor(mails, "")
    on = through_the_processor(mails, '[authentication]\nverify = "dkim"\ndns_zone_file = "ZONE"\n')
    print(f"processor, [authentication] off:                  {per_mail_us(off, len(mails))}")
    print(f"processor, verify = \"dkim\" (keys from a zone file): {per_mail_us(on, len(mails))}")
    print(f"  what DKIM adds to the processor:                {per_mail_us(on - off, len(mails))}")


if __name__ == "__main__":
    main()
