"""Hostile mail, many cases: how each ends (state and reason), and every processing-failed grouped by cause.

Run: .venv/bin/python bench/fuzz.py [--cases 5000]

The strategies are tests/support/hostile.py's (MIME trees, headers, encodings and
boundaries built and then corrupted); each case goes through the real pipeline on a
throw-away SQLite database: accept_raw → parse → decide → plan → write. The CI test
(tests/integration/test_hostile_mail.py) runs a few hundred of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.integration.test_hostile_mail import hostile_pipeline, outcome  # noqa: E402
from tests.support.hostile import hostile_mail  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    ends: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = hostile_pipeline(Path(tmp))

        @settings(max_examples=args.cases, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(hostile_mail())
        def run(raw: bytes) -> None:
            state, reason, detail = outcome(pipeline, raw)
            ends[f"{state} ({reason})"] += 1
            if reason == "processing-failed":
                failures[(detail or "").split(":", 1)[0] + ": " + (detail or "")[:90]] += 1

        started = time.perf_counter()
        run()
        elapsed = time.perf_counter() - started
    total = sum(ends.values())
    print(f"{total} cases in {elapsed:.0f} s ({1000 * elapsed / max(total, 1):.1f} ms each)")
    for end, count in ends.most_common():
        print(f"  {count:6d}  {end}")
    for cause, count in failures.most_common(20):
        print(f"  processing-failed x{count}: {cause}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
