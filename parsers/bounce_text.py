"""Bounces that flufl.bounce does not read, recognised by hand: SES/SNS JSON, complaints, loop alerts, wording.

Each reader takes the mail's decoded text and returns a BounceReport or None:

* Amazon SES notifications relayed by SNS (``"notificationType":"Bounce"``): the
  JSON of the notice, either SNS's envelope with the notice as a string in
  ``Message`` or the notice itself (raw message delivery). SES documents the fields:
  bounce.bouncedRecipients[].emailAddress/status/diagnosticCode, bounce.bounceType
  Permanent|Transient|Undetermined, mail.commonHeaders.messageId.
* Complaints (Hotmail's "email abuse report", SES ``Complaint``): not failures of
  delivery, so soft; they still say which mail of ours a person complained of.
* fml's "Loop Alert": the list manager refused our mail as a loop.
* The wording of a bounce in plain text, for senders no library knows (Japanese
  carriers' "メールエラー通知", a carrier's post_master, Apache James, warnings):
  the addresses named before the returned copy of our mail, with the RFC 3463
  status and the SMTP reply found in the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from parsers.model import BounceReport, FailedRecipient

ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SMTP_REPLY = re.compile(r"(?<!\d)([45]\d\d)[ -]\S.*")
MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
# Where the returned copy of our mail (or its headers) starts in a text bounce.
_RETURNED = re.compile(
    r"^[ \t>]*(?:Return-Path:|Received:|Message-ID:)|"
    r"^.*(?:-{3,}|={3,}).*(?:original|copy of|returned|headers|送信したメール|元のメッセージ)|"
    r"^.*(?:original message follows|below this line is a copy|is a copy of the message)",
    re.IGNORECASE | re.MULTILINE)
_WARNING = re.compile(r"warning|delayed|will (?:keep|continue) trying|not (?:been )?completed yet|遅延",
                      re.IGNORECASE)
_DAEMON_LOCALS = ("postmaster", "post_master", "mailer-daemon", "mail-daemon", "mailerdaemon")
_LOOP_ALERT = re.compile(r"loop alert", re.IGNORECASE)
_ABUSE_REPORT = re.compile(r"email abuse report|complaint about message", re.IGNORECASE)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON object the body starts with, and the one inside SNS's "Message" string."""
    start = text.find("{")
    if start < 0 or text[:start].strip():
        return []
    try:
        outer, _end = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    if not isinstance(outer, dict):
        return []
    found = [outer]
    inner = outer.get("Message")
    if isinstance(inner, str) and inner.lstrip().startswith("{"):
        try:
            parsed = json.loads(inner)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            found.append(parsed)
    return found


def _ses_ids(notice: dict[str, Any]) -> tuple[str, ...]:
    mail = notice.get("mail") if isinstance(notice.get("mail"), dict) else {}
    ids: list[str] = []
    common = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    ids += [str(common.get("messageId", ""))]
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            ids.append(str(header.get("value", "")))
    return tuple(dict.fromkeys(i.strip().strip("<>") for i in ids if i and i.strip().strip("<>")))


def ses_notification(text: str) -> BounceReport | None:
    """An SES Bounce or Complaint notice, as SNS relays it (or as raw message delivery)."""
    for notice in reversed(_json_objects(text)):
        kind = notice.get("notificationType") or notice.get("eventType")
        if kind == "Bounce" and isinstance(notice.get("bounce"), dict):
            bounce = notice["bounce"]
            hard = bounce.get("bounceType") == "Permanent"
            recipients = tuple(
                FailedRecipient(str(r.get("emailAddress", "")).lower(), r.get("status") or None,
                                (str(r.get("diagnosticCode"))[:500] if r.get("diagnosticCode") else None), hard)
                for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict) and r.get("emailAddress"))
            return BounceReport("ses", recipients, _ses_ids(notice))
        if kind == "Complaint" and isinstance(notice.get("complaint"), dict):
            complaint = notice["complaint"]
            recipients = tuple(
                FailedRecipient(str(r.get("emailAddress", "")).lower(), None,
                                f"complaint: {complaint.get('complaintFeedbackType') or 'unspecified'}", False)
                for r in complaint.get("complainedRecipients") or [] if isinstance(r, dict) and r.get("emailAddress"))
            return BounceReport("complaint", recipients, _ses_ids(notice))
    return None


def abuse_report(subject: str, text: str, returned_ids: tuple[str, ...]) -> BounceReport | None:
    """Hotmail-style complaint: multipart/mixed with the complained-of mail attached, not multipart/report."""
    if not (_ABUSE_REPORT.search(subject) or _ABUSE_REPORT.search(text[:2000])):
        return None
    return BounceReport("complaint", (), returned_ids)


def loop_alert(subject: str, text: str, returned_ids: tuple[str, ...]) -> BounceReport | None:
    """fml (and other list managers) refusing a mail they believe looped."""
    if not (_LOOP_ALERT.search(subject) or _LOOP_ALERT.search(text[:500])):
        return None
    return BounceReport("loop-alert", (), returned_ids)


def explanation(text: str) -> str:
    """The part of a text bounce before the returned copy of our mail."""
    match = _RETURNED.search(text)
    return text[: match.start()] if match else text[:4000]


def failed_addresses(text: str, exclude: set[str]) -> tuple[str, ...]:
    """Addresses a text bounce names before the returned mail, daemons and the mail's own parties excepted."""
    found = []
    for address in ADDRESS.findall(explanation(text)):
        address = address.strip(".").lower()
        if address in exclude or address.split("@", 1)[0] in _DAEMON_LOCALS:
            continue
        found.append(address)
    return tuple(dict.fromkeys(found))[:20]


def status_of(text: str) -> tuple[str | None, str | None]:
    """The first RFC 3463 status and SMTP reply line in a bounce's text."""
    part = explanation(text)
    status = STATUS.search(part)
    reply = SMTP_REPLY.search(part)
    diagnostic = reply.group(0).strip().rstrip(")").strip()[:500] if reply else None
    return (status.group(0) if status else None), diagnostic


def recipients_from_text(text: str, addresses: tuple[str, ...], permanent: set[str] | None = None
                         ) -> tuple[FailedRecipient, ...]:
    """FailedRecipients for `addresses`, with the status and diagnostic of the text."""
    status, diagnostic = status_of(text)
    warning = bool(_WARNING.search(explanation(text)[:3000]))
    recipients = []
    for address in addresses:
        if permanent is not None:
            hard = address in permanent
        else:
            hard = status.startswith("5") if status else (not warning)
        recipients.append(FailedRecipient(address, status, diagnostic, hard and not (warning and not status)))
    return tuple(recipients)


def message_ids_in(text: str) -> tuple[str, ...]:
    """Message-IDs of returned headers quoted in a bounce's text."""
    return tuple(dict.fromkeys(MESSAGE_ID.findall(text)))
