"""Log lines (issue 12): one line per event, key=value or JSON, no timestamp of our own under journald."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.logformat import chosen_style, formatter_for


def record(message: str, *, exc: bool = False, **extra: object) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("broken\nstore")
        except ValueError:
            import sys
            info = sys.exc_info()
    made = logging.LogRecord("gateway.test", logging.ERROR, __file__, 1, message, None, info)
    made.__dict__.update(extra)
    return made


def test_a_key_value_line_quotes_the_message_and_carries_extra_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    line = formatter_for("keyvalue", "worker").format(record('outbox 3 dead: "550"', outbox_id=3))
    assert line.startswith("time=")
    assert 'level=ERROR logger=gateway.test process=worker msg="outbox 3 dead: \\"550\\"" outbox_id=3' in line


def test_under_journald_no_line_has_a_timestamp_and_a_traceback_stays_on_its_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    line = formatter_for("keyvalue").format(record("step failed", exc=True))
    assert line.startswith("level=ERROR ") and "\n" not in line and "ValueError" in line
    assert not formatter_for("text").format(record("plain")).startswith("20")


def test_the_json_format_is_one_object_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    line = formatter_for("json").format(record("listening", port=25))
    assert json.loads(line)["msg"] == "listening" and json.loads(line)["port"] == 25


def test_the_environment_variable_overrides_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_GATEWAY_LOG_FORMAT", "json")
    assert chosen_style("keyvalue") == "json"
    monkeypatch.setenv("SUPPORT_GATEWAY_LOG_FORMAT", "nonsense")
    assert chosen_style("keyvalue") == "keyvalue"


def test_every_line_names_the_node_that_wrote_it_when_several_share_a_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    line = formatter_for("keyvalue", "worker", "gw-2").format(record("outbox 3 sent"))
    assert "process=worker node=gw-2 msg=" in line
    assert json.loads(formatter_for("json", None, "gw-2").format(record("x")))["node"] == "gw-2"
    assert "[gw-2/worker]" in formatter_for("text", "worker", "gw-2").format(record("x"))
