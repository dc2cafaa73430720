"""Recognise a bounce, RFC 3464 or not, and say who failed, why, and which mail of ours came back.

Most mail is not looked at: only a mail that carries some sign of a bounce (a
multipart/report, a daemon's or null sender, a bounce's subject in English, German,
French or Japanese, X-Failed-Recipients, an SNS sender, a list manager's loop alert, a
complaint) is read further:

1. RFC 3464 delivery-status parts are read field by field (Final-Recipient, Action,
   Status, Diagnostic-Code; RFC 6533's global form too);
2. Amazon SES/SNS JSON, abuse complaints and fml's Loop Alert by hand
   (parsers.bounce_text), since no library reads them;
3. otherwise flufl.bounce's detectors (Exim, qmail, Postfix, Exchange, Yahoo, AOL,
   SimpleMatch...) find the failed recipients of non-DSN bounces; parsers.bounce_text
   adds the status and the SMTP reply from the text;
4. last, the wording of the bounce itself (Japanese carriers, carriers' post_master,
   Apache James, delivery warnings) in parsers.bounce_text.

The Message-IDs of the returned mail come from its returned headers (message/rfc822,
text/rfc822-headers, or quoted in the text) and In-Reply-To/References: the gateway uses
them to find which of its notices bounced (issue 13, "Bounces change incidents").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from email.message import Message

from flufl.bounce import all_failures

from parsers import bounce_text as bt
from parsers.model import Attachment, BounceReport, FailedRecipient
from parsers.subject import looks_like_bounce_subject

# flufl.bounce logs every detector it runs at INFO, and logs (then raises) a detector's
# own failure at ERROR — e.g. its Yale detector on a mail without From; we catch those.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

_DAEMON = re.compile(r"^(?:mailer-?daemon|mail-daemon|post_?master|postmaster.*|mdaemon)$", re.IGNORECASE)
_RETURNED_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers",
                             "message/global", "message/global-headers"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_SCAN = 64 * 1024  # text read from a returned part or the body


def find_bounce(msg: Message, *, from_addr: str, to: tuple[str, ...], subject: str,
                headers: Mapping[str, tuple[str, ...]], body_text: str, attachments: tuple[Attachment, ...],
                content_type: str, report_type: str | None, own_id: str | None,
                thread_ids: tuple[str, ...]) -> BounceReport | None:
    """The bounce this mail is, or None (most mail: the signs are checked first, cheaply)."""
    if content_type == "multipart/report" and report_type not in (None, "delivery-status"):
        return None  # an MDN or a feedback report: a robot, but not a bounce
    local = from_addr.rsplit("@", 1)[0]
    daemon = bool(_DAEMON.match(local)) or any(v.strip() == "<>" for v in headers.get("return-path", ()))
    worded = looks_like_bounce_subject(subject)
    named = "x-failed-recipients" in headers
    ses = from_addr.endswith("@sns.amazonaws.com") or '"notificationType"' in body_text[:_SCAN]
    complaint = from_addr == "staff@hotmail.com"
    looped = "loop alert" in subject.lower()
    report = content_type == "multipart/report"
    if not (report or daemon or worded or named or ses or complaint or looped):
        return None
    ids = _returned_ids(attachments, body_text, own_id, thread_ids)
    if report:
        return BounceReport("dsn", _dsn_recipients(attachments), ids)
    found = (bt.ses_notification(body_text[:_SCAN]) if ses else None) \
        or (bt.abuse_report(subject, body_text, ids) if complaint else None) \
        or (bt.loop_alert(subject, body_text, ids) if looped else None)
    if found is not None:
        return found
    return _by_flufl(msg, body_text, ids) or _by_wording(body_text, headers, {from_addr, *to}, ids,
                                                         daemon or named, worded)


def _by_flufl(msg: Message, body_text: str, ids: tuple[str, ...]) -> BounceReport | None:
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a detector's bug must not make a mail unreadable
        return None
    hard = {a.decode("ascii", "replace").lower() for a in permanent}
    soft = {a.decode("ascii", "replace").lower() for a in temporary}
    if not hard and not soft:
        return None
    addresses = tuple(sorted(hard)) + tuple(sorted(soft - hard))
    return BounceReport("flufl", bt.recipients_from_text(body_text, addresses, hard), ids)


def _by_wording(body_text: str, headers: Mapping[str, tuple[str, ...]], exclude: set[str],
                ids: tuple[str, ...], daemon: bool, worded: bool) -> BounceReport | None:
    named = tuple(a.lower() for v in headers.get("x-failed-recipients", ()) for a in bt.ADDRESS.findall(v))
    addresses = named or bt.failed_addresses(body_text, exclude)
    if addresses and (daemon or worded):
        return BounceReport("text", bt.recipients_from_text(body_text, addresses), ids)
    if daemon and worded:
        return BounceReport("text", (), ids)
    return None


def _returned_ids(attachments: tuple[Attachment, ...], body_text: str, own_id: str | None,
                  thread_ids: tuple[str, ...]) -> tuple[str, ...]:
    found: list[str] = []
    for attachment in attachments:
        if attachment.content_type in _RETURNED_TYPES:
            text = attachment.payload[:_SCAN].decode("latin-1")
            found += bt.message_ids_in(text.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0])
    found += bt.message_ids_in(body_text[:_SCAN])
    found += thread_ids
    return tuple(i for i in dict.fromkeys(found) if i and i != own_id)[:20]


def _dsn_recipients(attachments: tuple[Attachment, ...]) -> tuple[FailedRecipient, ...]:
    """RFC 3464 §2.3 per-recipient fields of the delivery-status part(s)."""
    recipients: list[FailedRecipient] = []
    for attachment in attachments:
        if attachment.content_type not in _STATUS_TYPES:
            continue
        text = attachment.payload[:_SCAN].decode("utf-8", "replace").replace("\r\n", "\n")
        text = re.sub(r"\n[ \t]+", " ", text)  # unfold
        for block in re.split(r"\n\s*\n", text):
            fields = {k.strip().lower(): v.strip() for k, _, v in
                      (line.partition(":") for line in block.split("\n") if ":" in line)}
            recipient = _recipient(fields)
            if recipient is not None:
                recipients.append(recipient)
    return tuple(recipients[:20])


def _recipient(fields: dict[str, str]) -> FailedRecipient | None:
    named = fields.get("final-recipient") or fields.get("original-recipient")
    if not named:
        return None
    address = named.partition(";")[2].strip().strip("<>").lower() or named.strip().lower()
    action = fields.get("action", "failed").split()[0].lower() if fields.get("action") else "failed"
    if action not in ("failed", "delayed"):
        return None  # delivered, relayed, expanded: not a failure (RFC 3464 §2.3.3)
    status = bt.STATUS.search(fields.get("status", ""))
    code = status.group(0) if status else None
    diagnostic = fields.get("diagnostic-code", "").partition(";")[2].strip() or None
    hard = action == "failed" and (code is None or code.startswith("5"))
    return FailedRecipient(address, code, diagnostic[:500] if diagnostic else None, hard)
