"""What the benchmarks share: the support address, the contacts, a typical Japanese mail, throw-away schemas."""

from __future__ import annotations

import json
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import text

from store.db import make_engine

SUPPORT = "support@support.example.test"
CONTACTS = [f"user{i}@example.test" for i in range(8)]


def settings_text(data_dir: Path, db_url: str, *, smtp_extra: str = "", sections: str = "",
                  gateway_extra: str = "", database_extra: str = "", port: int = 0) -> str:
    """The daemon's TOML settings for a benchmark: SMTP on `port` (0: a free one), one customer with CONTACTS.

    `smtp_extra` adds lines to [smtp] (e.g. max_message_size); `gateway_extra` to [gateway]
    (e.g. `node = "gw-2"`); `database_extra` to [database] (e.g. `shared = true`); `sections`
    adds whole sections before the customer (e.g. an [[imap]] account, [tokens]).
    """
    return f"""
[gateway]
name = "Bench Support"
support_addresses = ["{SUPPORT}"]
data_dir = "{data_dir}"
{gateway_extra}
[database]
url = "{db_url}"
{database_extra}
[smtp]
host = "127.0.0.1"
port = {port}
{smtp_extra}
[limits]
# Every mail must get its ack (the figures count them): the limits' bookkeeping runs, no window fills.
per_recipient = {{ 10h = 1000000 }}
{sections}
[[customers]]
key = "bench"
name = "Bench Corp"
plan = "enhanced"
locale = "ja"
domains = ["example.test"]
contacts = {json.dumps(CONTACTS)}
"""


def sample_mail(index: int) -> bytes:
    """A typical ~3.6 kB Japanese customer mail, with CRLF line endings as an MTA sends it."""
    message = EmailMessage()
    message["From"] = f"User <{CONTACTS[index % len(CONTACTS)]}>"
    message["To"] = SUPPORT
    message["Subject"] = f"サーバが停止します #{index}"
    message["Message-ID"] = f"<bench.{uuid.uuid4().hex}@example.test>"
    message["Date"] = "Tue, 24 Nov 2026 10:00:00 +0900"
    body = ("毎晩 02:00 にサーバが停止します。イベントログにエラー 0x80070005 が記録されています。\n" * 20
            + f"問い合わせ番号 {index}\n")
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)


def fresh_pg_url(base: str) -> tuple[str, str]:
    """A new empty schema on the PostgreSQL at `base`: (its URL, its name for drop_schema)."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = make_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    engine = make_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
