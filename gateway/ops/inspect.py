"""`support-gateway inspect`: what the parser and the decision make of a mail, storing nothing.

Operators use it to answer "why did the gateway do that?". Contacts come from
the settings file, so it needs no database and streams through thousands of
files in one process.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from gateway import codes
from gateway.app import App
from gateway.core.authenticity import as_record
from gateway.core.anomalies import anomalies_of
from gateway.core.decide import decide
from gateway.core.model import (
    CONTACT, ENGINEER, STRANGER, UNKNOWN_AT_CUSTOMER, Action, Context, CustomerRef, Envelope, Sender,
)
from gateway.intake.imap_mail import UNKNOWN_SENDER
from gateway.work.authentication import Authenticator
from parsers import ParsedMail, UnparseableMail, parse_mail


def directory_from_settings(app: App) -> dict[str, CustomerRef]:
    """Contact address → customer, as the settings file has them (ids are positions)."""
    directory = {}
    for index, customer in enumerate(app.settings.customers, start=1):
        ref = CustomerRef(index, customer.key, customer.name, customer.plan, customer.locale, customer.charset)
        directory.update({address: ref for address in customer.contacts})
    return directory


def _sender(app: App, directory: dict[str, CustomerRef], address: str) -> Sender:
    """The sender's role as the settings file says (no database: no threading either)."""
    if address and app.settings.engineers.is_engineer(address):
        return Sender(ENGINEER)
    if address in directory:
        return Sender(CONTACT, directory[address])
    domain = address.rpartition("@")[2]
    for index, customer in enumerate(app.settings.customers, start=1):
        if domain and domain in customer.domains:
            return Sender(UNKNOWN_AT_CUSTOMER, CustomerRef(index, customer.key, customer.name, customer.plan,
                                                           customer.locale, customer.charset))
    return Sender(STRANGER)


def envelope_of_file(mail: ParsedMail) -> Envelope:
    """A file carries no SMTP envelope: MAIL FROM is read from the header, as IMAP intake reads it.

    Return-Path (written at final delivery, RFC 5321 §4.4) when present — `<>` is the
    null sender — else the From address, else a placeholder that is no null sender: a
    human mail with an unparseable From must not read as a bounce (issue 13).
    """
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() == "<>":
        return Envelope("", mail.to + mail.cc)
    sender = (return_path or "").strip().strip("<>") if return_path and "@" in return_path else ""
    return Envelope(sender or mail.from_addr or UNKNOWN_SENDER, mail.to + mail.cc)


def _bounce(mail: ParsedMail) -> dict[str, Any] | None:
    if mail.bounce is None:
        return None
    return {"kind": mail.bounce.kind, "original_message_ids": list(mail.bounce.original_message_ids),
            "recipients": [asdict(r) for r in mail.bounce.recipients]}


def inspect_bytes(app: App, raw: bytes, directory: dict[str, CustomerRef], name: str,
                  authenticator: Authenticator | None = None) -> dict[str, Any]:
    try:
        mail = parse_mail(raw, app.limits)
    except UnparseableMail as exc:
        reason = exc.code if exc.code in codes.LIMIT_REASONS else codes.UNPARSEABLE
        return {"file": name, "error": exc.code, "detail": exc.detail, "action": "quarantine", "reason": reason}
    verdict = authenticator.verdict(raw, mail) if authenticator is not None else None  # DNS, as the daemon does
    decision = decide(mail, envelope_of_file(mail),
                      Context(_sender(app, directory, mail.from_addr), authentication=verdict), app.policy)
    assessment = decision.assessment
    return {
        "file": name,
        "from": mail.from_addr,
        "from_name": mail.from_name,
        "from_source": mail.from_source,
        "from_display": mail.from_display,
        "to": list(mail.to),
        "cc": list(mail.cc),
        "subject": mail.subject,
        "date": mail.date.isoformat() if mail.date else None,
        "message_id": mail.message_id,
        "in_reply_to": list(mail.in_reply_to),
        "references": list(mail.references),
        "body_text": mail.body_text,
        "body_source": mail.body_source,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                        for a in mail.attachments],
        "auto": decision.automatic if decision.action in (Action.IGNORE, Action.RECORD_BOUNCE) else None,
        "quiet": decision.quiet,
        "bounce": _bounce(mail),
        "action": decision.action.value,
        "reason": decision.reason,
        "customer": decision.customer.key if decision.customer else None,
        "requested_severity": assessment.requested_severity if assessment else None,
        "severity": assessment.severity if assessment else None,
        "cues": [asdict(cue) for cue in assessment.cues] if assessment else [],
        "defects": list(mail.defects),
        "authentication": as_record(verdict) if verdict is not None else None,
        "anomalies": list(anomalies_of(mail, decision)),
        "detail": decision.detail,
    }


def inspect_file(app: App, path: Path, directory: dict[str, CustomerRef],
                 authenticator: Authenticator | None = None) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return {"file": str(path), "error": "unreadable", "detail": str(exc)}
    return inspect_bytes(app, raw, directory, str(path), authenticator)


def describe(result: dict[str, Any]) -> str:
    """Human-readable summary of one inspect result."""
    if "error" in result:
        return f"{result['file']}: {result['error']}: {result['detail']}"
    lines = [
        f"{result['file']}:",
        f"  from:      {result['from_name']} <{result['from']}>" if result["from_name"] else f"  from:      {result['from']}",
        f"  subject:   {result['subject']}",
        f"  action:    {result['action']} ({result['reason']})"
        + (f": {result['detail']}" if result["detail"] else ""),
    ]
    if result.get("authentication"):
        lines.append(f"  sender:    {result['authentication']['summary']}")
    lines += [f"  anomaly:   {code}" for code in result["anomalies"]]
    if result["severity"] is not None:
        lines.append(f"  severity:  {result['severity']} (requested: {result['requested_severity']})")
    lines += [f"  cue:       {c['kind']} {c['rule']} {c['matched']!r} in {c['where']}" for c in result["cues"]]
    lines += [f"  attachment: {a['filename']} {a['content_type']} {a['size']} bytes" for a in result["attachments"]]
    return "\n".join(lines)
