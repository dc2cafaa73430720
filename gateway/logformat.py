"""Log lines an operator (and journald, Loki, jq) can read: one line per event, key=value or JSON.

`[logging] format` (or $SUPPORT_GATEWAY_LOG_FORMAT, which wins, for commands run before the
settings are read): "keyvalue" (logfmt: `level=INFO logger=gateway.x msg="listening ..."`),
"json" (one object a line) or "text". A traceback stays inside its line (newlines escaped),
so one event is one journal entry. When JOURNAL_STREAM is set our stderr is connected to
journald (systemd.exec(5)), which stamps every entry itself: no timestamp of our own then.
Fields given with `extra={...}` are written as further keys.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

FORMAT_ENV = "SUPPORT_GATEWAY_LOG_FORMAT"
STYLES = ("keyvalue", "json", "text")
# What every LogRecord carries: anything else on a record came from `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def under_journald() -> bool:
    return bool(os.environ.get("JOURNAL_STREAM"))


def _fields(record: logging.LogRecord, formatter: logging.Formatter, process: str | None,
            timestamps: bool, node: str | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if timestamps:
        fields["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    fields["level"] = record.levelname
    fields["logger"] = record.name
    if process:
        fields["process"] = process
    if node:  # which of several gateways on one database wrote it (issue 15: [gateway] node)
        fields["node"] = node
    fields["msg"] = record.getMessage()
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    return fields


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\\\n\r\t') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted, with \n and \" escaped: still one line


class KeyValueFormatter(logging.Formatter):
    def __init__(self, process: str | None = None, timestamps: bool = True, node: str | None = None) -> None:
        super().__init__()
        self.process, self.timestamps, self.node = process, timestamps, node

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record, self, self.process, self.timestamps, self.node)
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())


class JsonFormatter(KeyValueFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self, self.process, self.timestamps, self.node), ensure_ascii=False,
                          default=str)


def formatter_for(style: str, process: str | None = None, node: str | None = None) -> logging.Formatter:
    timestamps = not under_journald()
    if style == "json":
        return JsonFormatter(process, timestamps, node)
    if style == "keyvalue":
        return KeyValueFormatter(process, timestamps, node)
    where = f"[{'/'.join(part for part in (node, process) if part)}]" if process or node else ""
    return logging.Formatter(("%(asctime)s " if timestamps else "") + f"%(levelname)s %(name)s{where}: %(message)s")


def chosen_style(configured: str | None = None) -> str:
    """$SUPPORT_GATEWAY_LOG_FORMAT if it names a style, else the setting, else "text" (before settings are read)."""
    wanted = os.environ.get(FORMAT_ENV, "").strip().lower()
    return wanted if wanted in STYLES else (configured or "text")


def configure_logging(level: int, style: str | None = None, process: str | None = None,
                      node: str | None = None) -> None:
    """One handler on stderr for the root logger, in `style`, replacing the one set here before.

    Like logging.basicConfig, it leaves a root logger alone that someone else has given handlers
    (pytest's capture, an embedding program): only the level is set then.
    """
    root = logging.getLogger()
    root.setLevel(level)
    ours = [handler for handler in root.handlers if getattr(handler, "_support_gateway", False)]
    if root.handlers and not ours:
        return
    for old in ours:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(chosen_style(style), process, node))
    handler._support_gateway = True  # type: ignore[attr-defined]
    root.addHandler(handler)
