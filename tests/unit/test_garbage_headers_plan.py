"""Garbage bytes in any header never make the plan step raise (issue 13 measured 619 of 20,400).

parse → decide → plan, with no store: the rows are built and their mail is
bytes a relay can carry — plain ASCII headers, or UTF-8 ones only when the
mail is marked as needing SMTPUTF8.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.app import App, build_app
from gateway.core.correlate import extract_clues
from gateway.core.decide import decide
from gateway.core.model import CONTACT, UNKNOWN_AT_CUSTOMER, Context, CustomerRef, Envelope, Sender
from gateway.settings import settings_from_dict
from gateway.work.effects import Outcome, plan
from parsers import UnparseableMail, parse_mail
from store.rows import NewOutbox

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
SUPPORT = "support@support.example.test"
CUSTOMER = CustomerRef(1, "demo", "Demo Corporation", "enhanced", "ja", "iso-2022-jp")
FIELDS = ("Message-ID", "From", "References", "In-Reply-To", "Subject", "Reply-To")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder: Path = tmp_path_factory.mktemp("garbage")
    yield build_app(settings_from_dict({
        "gateway": {"support_addresses": [SUPPORT], "data_dir": str(folder)},
        "engineers": {"queue_address": "queue@vendor.test"},
        "customers": [{"key": "demo", "name": "Demo Corporation", "plan": "enhanced", "charset": "iso-2022-jp",
                       "domains": ["example.test"], "contacts": ["alice@example.test"]}],
    }), create_secret=False)


def _raw(field: str, garbage: bytes) -> bytes:
    headers = {"From": b"alice@example.test", "To": SUPPORT.encode(), "Subject": b"help",
               "Message-ID": b"<ok.1@example.test>"}
    headers[field] = garbage
    head = b"".join(name.encode() + b":" + value + b"\r\n" for name, value in headers.items())
    return head + b"\r\nThe server stops.\r\n"


def _rows(outcome: Outcome) -> list[NewOutbox]:
    rows = list(outcome.outbox)
    rows += [m.outbox for incident in outcome.incidents for m in incident.messages if m.outbox is not None]
    return rows


def _plan_as(app: App, role: str, raw: bytes) -> list[NewOutbox]:
    try:
        mail = parse_mail(raw)
    except UnparseableMail:
        return []
    envelope = Envelope("alice@example.test", (SUPPORT,))
    context = Context(Sender(role, CUSTOMER), extract_clues(mail, envelope, app.policy.own_addresses))
    decision = decide(mail, envelope, context, app.policy)
    return _rows(plan(app, 1, mail, decision, NOW, list(range(1, 1 + decision.new_incidents))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), garbage=st.binary(min_size=1, max_size=40))
@example(field="Message-ID", garbage=b"<\xc3>")
@example(field="From", garbage=b"\xbc@example.test")
@example(field="References", garbage="<über-1@example.test> <\x00@x>".encode())
@example(field="In-Reply-To", garbage=b"<a\xff\xfe@example.test>")
def test_garbage_header_bytes_become_rows_and_never_raise(app: App, field: str, garbage: bytes) -> None:
    for role in (CONTACT, UNKNOWN_AT_CUSTOMER):
        for row in _plan_as(app, role, _raw(field, garbage)):
            head = row.raw.split(b"\r\n\r\n", 1)[0]
            if row.needs_smtputf8:
                head.decode("utf-8")  # RFC 6532: raw UTF-8, nothing else
            else:
                assert head.isascii(), head


def test_a_utf8_message_id_gets_an_ack_and_an_eai_writer_an_ack_that_needs_smtputf8(app: App) -> None:
    [ack, notice] = _plan_as(app, CONTACT, _raw("Message-ID", "<über-1@example.test>".encode()))
    assert (ack.kind, ack.needs_smtputf8, notice.needs_smtputf8) == ("ack", False, False)
    assert b"In-Reply-To" not in ack.raw
    [ack, notice] = _plan_as(app, CONTACT, _raw("From", "Ü <üser@example.test>".encode()))
    assert (ack.rcpt_tos, ack.needs_smtputf8, notice.needs_smtputf8) == (["üser@example.test"], True, False)
    assert "To: üser@example.test\r\n".encode() in ack.raw
