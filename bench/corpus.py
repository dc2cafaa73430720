"""The four figures of issue 13 on a labelled corpus, measured with `support-gateway inspect` itself.

Run: .venv/bin/python bench/corpus.py [FOLDER] [--misses]

FOLDER (default tests/corpus/classes) holds .eml files and a manifest.json listing, per
file, its `class` (machine | human), the expected decoded `subject` and `from` address,
and whether the sender is an authorized `contact`. Each mail goes through
gateway.ops.inspect.inspect_bytes, the code behind `support-gateway inspect --json`, with
settings in which the manifest's contacts are authorized (eight to a customer, as §7
allows) and the senders of notifications a desk wants as incidents (`family` =
notification) are accepted; so the figures are what the product does, not a model of it.

Printed: bounces and auto-replies recognised as machine mail; human mail taken for machine
mail (ignored as a bounce, auto-reply or null sender); subject decoded as expected; From
address as expected. --misses lists the files behind each miss.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.app import build_app  # noqa: E402
from gateway.ops.inspect import directory_from_settings, inspect_bytes  # noqa: E402
from gateway.settings import Settings, settings_from_dict  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "classes"
SUPPORT = "support@support.example.test"


def corpus_settings(mails: list[dict[str, Any]], data_dir: Path) -> Settings:
    """Settings whose customers authorize the manifest's contacts; notification senders accepted."""
    contacts = sorted({m["from"] for m in mails if m.get("contact") and m["from"]})
    customers = [{"key": f"corpus{index // 8}", "name": f"Corpus {index // 8}", "plan": "enhanced",
                  "locale": "en", "contacts": contacts[index:index + 8]} for index in range(0, len(contacts), 8)]
    data: dict[str, Any] = {"gateway": {"support_addresses": [SUPPORT], "data_dir": str(data_dir)},
                            "customers": customers}
    accepted = sorted({m["from"] for m in mails if m.get("family") == "notification" and m["from"]})
    if "mail" in Settings.model_fields:  # the per-sender setting of issue 13 (absent before it)
        data["mail"] = {"accept_automatic_from": accepted}
    return settings_from_dict(data)


def measure(folder: Path) -> tuple[dict[str, tuple[int, int]], dict[str, list[str]]]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    mails = manifest["mails"]
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(corpus_settings(mails, Path(tmp)), create_secret=False)
        directory = directory_from_settings(app)
        results = [(m, inspect_bytes(app, (folder / m["file"]).read_bytes(), directory, m["file"])) for m in mails]
    counts = {name: [0, 0] for name in ("machine", "human", "subject", "from")}
    misses: dict[str, list[str]] = {name: [] for name in counts}

    def count(name: str, hit: bool, entry: dict[str, Any], result: dict[str, Any], shown: str) -> None:
        counts[name][0] += hit
        counts[name][1] += 1
        if not hit:
            misses[name].append(f"{entry['file']}: {shown}")

    for entry, result in results:
        machine = result.get("auto") is not None
        how = f"{result.get('action')} ({result.get('reason')}) {result.get('detail', '')}".strip()
        if entry["class"] == "machine":
            count("machine", machine, entry, result, how)
        else:
            count("human", not machine, entry, result, how)
        count("subject", result.get("subject") == entry["subject"], entry, result,
              f"{result.get('subject')!r} != {entry['subject']!r}")
        count("from", result.get("from") == entry["from"], entry, result, f"{result.get('from')!r} != {entry['from']!r}")
    return {k: (v[0], v[1]) for k, v in counts.items()}, misses


def percent(hit: int, total: int) -> str:
    return f"{100 * hit / total:5.1f} %" if total else "  n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--misses", action="store_true", help="list the files behind each miss")
    args = parser.parse_args()
    counts, misses = measure(args.folder)
    machine, human = counts["machine"], counts["human"]
    rows = [
        ("bounces and auto-replies recognised as machine mail", machine, "≥ 99.5 %"),
        ("human mail taken for machine mail", (human[1] - human[0], human[1]), "≤ 0.5 %"),
        ("subject decoded as expected", counts["subject"], "≥ 99 %"),
        ("From address as expected", counts["from"], "≥ 99 %"),
    ]
    print(f"corpus: {args.folder} ({machine[1]} machine, {human[1]} human mails)")
    for label, (hit, total), goal in rows:
        print(f"{label:<55} {percent(hit, total)}  ({hit} / {total})   goal {goal}")
    if args.misses:
        for name, found in misses.items():
            for line in found:
                print(f"miss {name}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
