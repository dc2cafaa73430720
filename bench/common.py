"""What the benchmarks share: the support address, the contacts, a typical Japanese mail, throw-away schemas."""

from __future__ import annotations

import uuid
from email import policy
from email.message import EmailMessage

from sqlalchemy import text

from store.db import make_engine

SUPPORT = "support@support.example.test"
CONTACTS = [f"user{i}@example.test" for i in range(8)]


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
