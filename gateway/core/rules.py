"""Tell automatic mail from human mail: a reason code for the first, None for the second.

One job: `classify_automatic`. Auto-replies, bounces, mailing-list and bulk mail,
and our own mail coming back must never open an incident and never be answered
(a reply to an auto-reply is how mail loops start, RFC 3834 §2). The checks run
most specific first, and the first that fires names the reason:

1. OWN_LOOP          our own mail came back: our address in X-Loop, our marker in
                     X-Support-Gateway-Loop, or our address as From / envelope sender
                     (the loop check of RT's CheckForLoops, with addresses as in procmail's X-Loop).
2. DELIVERY_REPORT   top-level multipart/report of any report-type: DSN (RFC 3464),
                     MDN (RFC 8098), ARF feedback (RFC 5965)... (RFC 6522).
   BOUNCE            a bounce in any other form the parser recognised (parsers.bounces:
                     Exim, qmail, Japanese carriers, SES/SNS JSON, complaints, fml Loop
                     Alert...), unless a person forwarded it ("Fwd: Returned mail: …"):
                     that is human mail *about* a bounce (issue 13).
3. NULL_SENDER       MAIL FROM:<> (RFC 5321 §4.5.5; RFC 3834 §3.1.1), or a
                     Return-Path: <> written at final delivery (RFC 5321 §4.4), as RT does.
4. AUTO_SUBMITTED    Auto-Submitted present and not "no" (RFC 3834 §5); an empty value is
                     not a keyword, so it is ignored, as RT does.
5. AUTO_REPLY_HEADER vendor auto-reply headers: X-Autoreply, X-Autorespond, X-AutoReply-From,
                     X-Mail-Autoreply (vacation programs), X-FC-MachineGenerated: true
                     (FirstClass, as RT), Precedence: auto_reply; and an Outlook/Exchange
                     out-of-office: X-Auto-Response-Suppress *with* an automatic-reply subject.
   AUTO_REPLY_SUBJECT an auto-reply subject prefix on a mail that answers something
                     ("Out of Office: Re: [INC-000003] …", "不在通知:", "Abwesenheitsnotiz:"),
                     and CHALLENGE_RESPONSE robots (gateway.core.autoreply, issue 13).
6. PRECEDENCE_BULK   Precedence: bulk | junk | list (RFC 2076; RFC 3834 §3.1.8).
7. MAILING_LIST      any RFC 2369 list header or List-Id (RFC 2919): a customer's own
                     marketing mail with List-Unsubscribe is bulk too.
8. MAILER_DAEMON     From or envelope sender local part MAILER-DAEMON (as RT), or postmaster
                     with a bounce's subject: a person at a small company may well write as
                     postmaster@ about a licence (issue 13), and bounces from postmaster@
                     are caught by BOUNCE already.

X-Auto-Response-Suppress alone is NOT a sign of automatic mail: it asks the
*receiver* not to auto-respond, and Exchange/Outlook put it on mail people write
(to distribution groups, meeting requests, mail sent by some add-ins). Helpdesks
that treated it as "automatic" dropped human mail and removed the check
(discourse#21367, osTicket#5320, glpi#2170, Redmine #19558). Exchange's own
out-of-office replies also carry Auto-Submitted, caught by check 4; the subject
fallback in check 5 covers old servers that do not.

Not checked, on purpose: X-Mailer and subject wording alone on a fresh mail (a person may
type "Automatic reply: is it configurable?" or use any client), noreply@ senders and "owner-"/"-request"
local parts (a customer's shared mailbox may be named support-request@), and
X-MS-Exchange-Inbox-Rules-Loop (set on mail a person's inbox rule forwarded).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway import codes
from gateway.core.autoreply import is_auto_reply_subject, is_challenge_response
from gateway.core.model import Envelope
from parsers.model import ParsedMail
from parsers.subject import is_forward, looks_like_bounce_subject

LOOP_HEADER = codes.LOOP_HEADER.lower()  # the marker our sender stamps on every outbound mail

# Loose addr-spec tokens in a free-form header such as X-Loop ("support@x", "<support@x>",
# "Support Desk <support@x>"): compared whole, so "xsupport@x" is not "support@x".
_ADDRESS = re.compile(r"[^\s<>,;:\"()\[\]]+@[^\s<>,;:\"()\[\]]+")

_NO_VALUES = frozenset({"no", "false", "0", "off"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_AUTO_REPLY_PRECEDENCE = frozenset({"auto_reply", "auto-reply"})
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon"})
_POSTMASTER_LOCAL_PARTS = frozenset({"postmaster", "post_master"})

# Vendor headers whose presence (with any value but a "no") marks an auto-reply.
_AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoreply-from", "x-mail-autoreply")

# RFC 2919 List-Id and the RFC 2369 list header fields.
_LIST_HEADERS = (
    "list-id", "list-unsubscribe", "list-post", "list-help",
    "list-subscribe", "list-owner", "list-archive",
)

# Subjects of Outlook/Exchange automatic replies (en and ja clients, old and new).
_OOF_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto[ -]?reply|autoreply|out of (?:the )?office(?: reply)?"
    r"|自動応答|自動返信|不在)\s*[:：]",
    re.IGNORECASE,
)
_OOF_SUPPRESS = re.compile(r"(?<![a-z])(?:all|oof|autoreply)(?![a-z])", re.IGNORECASE)


def header_values(mail: ParsedMail, name: str) -> tuple[str, ...]:
    """Every value of a header (names are lower-cased by the parser)."""
    return mail.headers.get(name.lower(), ())


def _keyword(value: str) -> str:
    """The first token of a structured value: "auto-replied; owner-email=x" → "auto-replied"."""
    return value.split(";", 1)[0].strip().lower()


def _local_part(address: str) -> str:
    return address.rsplit("@", 1)[0].strip().strip("<>").lower()


def _addresses_in(value: str) -> set[str]:
    return {a.lower() for a in _ADDRESS.findall(value)}


def is_own_mail(
    mail: ParsedMail, envelope: Envelope, *, own_addresses: frozenset[str], loop_marker: str
) -> bool:
    """Our own mail came back: our loop marker or one of our addresses is on it."""
    own = frozenset(a.lower() for a in own_addresses)
    if loop_marker and any(v.strip() == loop_marker for v in header_values(mail, LOOP_HEADER)):
        return True
    if own and any(_addresses_in(v) & own for v in header_values(mail, "x-loop")):
        return True
    return bool(own) and (mail.from_addr.lower() in own or envelope.mail_from.lower() in own)


def is_delivery_report(mail: ParsedMail, envelope: Envelope) -> bool:
    """Top-level multipart/report (RFC 6522): DSN, MDN or any other report-type."""
    return _keyword(mail.content_type) == "multipart/report"


def is_recognised_bounce(mail: ParsedMail, envelope: Envelope) -> bool:
    """A bounce the parser recognised (parsers.bounces), not one a person forwarded to us."""
    return mail.bounce is not None and not is_forward(mail.subject)


def has_null_sender(mail: ParsedMail, envelope: Envelope) -> bool:
    """MAIL FROM:<>, or the Return-Path the final delivery wrote from it (RFC 5321 §4.4, §4.5.5)."""
    if envelope.mail_from.strip() in ("", "<>"):
        return True
    return any(v.strip() == "<>" for v in header_values(mail, "return-path"))


def is_auto_submitted(mail: ParsedMail, envelope: Envelope) -> bool:
    """RFC 3834 §5: any Auto-Submitted keyword other than "no" marks automatic mail."""
    return any(_keyword(v) not in ("", "no") for v in header_values(mail, "auto-submitted"))


def has_auto_reply_header(mail: ParsedMail, envelope: Envelope) -> bool:
    """Non-standard auto-reply markers used by vacation programs, FirstClass and Exchange."""
    for name in _AUTO_REPLY_HEADERS:
        if any(_keyword(v) not in _NO_VALUES for v in header_values(mail, name)):
            return True
    if any(_keyword(v) == "true" for v in header_values(mail, "x-fc-machinegenerated")):
        return True
    if any(_keyword(v) in _AUTO_REPLY_PRECEDENCE for v in header_values(mail, "precedence")):
        return True
    return is_outlook_out_of_office(mail)


def is_outlook_out_of_office(mail: ParsedMail) -> bool:
    """X-Auto-Response-Suppress (All/OOF/AutoReply) together with an automatic-reply subject.

    Either alone is not enough: see the module docstring.
    """
    if not _OOF_SUBJECT.match(mail.subject):
        return False
    return any(_OOF_SUPPRESS.search(v) for v in header_values(mail, "x-auto-response-suppress"))


def is_bulk_precedence(mail: ParsedMail, envelope: Envelope) -> bool:
    """Precedence: bulk | junk | list (RFC 2076; RFC 3834 §3.1.8); first-class, normal... are not."""
    return any(_keyword(v) in _BULK_PRECEDENCE for v in header_values(mail, "precedence"))


def is_mailing_list(mail: ParsedMail, envelope: Envelope) -> bool:
    """Any list header (RFC 2369, RFC 2919), whatever its value."""
    return any(header_values(mail, name) for name in _LIST_HEADERS)


def has_auto_reply_subject(mail: ParsedMail, envelope: Envelope) -> bool:
    return is_auto_reply_subject(mail)


def is_challenge(mail: ParsedMail, envelope: Envelope) -> bool:
    return is_challenge_response(mail)


def is_mailer_daemon(mail: ParsedMail, envelope: Envelope) -> bool:
    """From or envelope sender is MAILER-DAEMON, or postmaster on a mail with a bounce's subject."""
    locals_ = [_local_part(s) for s in (mail.from_addr, envelope.mail_from) if s]
    if any(local in _DAEMON_LOCAL_PARTS for local in locals_):
        return True
    return any(local in _POSTMASTER_LOCAL_PARTS for local in locals_) and looks_like_bounce_subject(mail.subject)


_Check = Callable[[ParsedMail, Envelope], bool]

# Checks after OWN_LOOP, most specific first (see the module docstring).
CHECKS: tuple[tuple[str, _Check], ...] = (
    (codes.DELIVERY_REPORT, is_delivery_report),
    (codes.BOUNCE, is_recognised_bounce),
    (codes.NULL_SENDER, has_null_sender),
    (codes.AUTO_SUBMITTED, is_auto_submitted),
    (codes.AUTO_REPLY_HEADER, has_auto_reply_header),
    (codes.AUTO_REPLY_SUBJECT, has_auto_reply_subject),
    (codes.CHALLENGE_RESPONSE, is_challenge),
    (codes.PRECEDENCE_BULK, is_bulk_precedence),
    (codes.MAILING_LIST, is_mailing_list),
    (codes.MAILER_DAEMON, is_mailer_daemon),
)


def classify_automatic(
    mail: ParsedMail, envelope: Envelope, *, own_addresses: frozenset[str], loop_marker: str
) -> str | None:
    """None for a human message, else the gateway.codes reason it is automatic."""
    if is_own_mail(mail, envelope, own_addresses=own_addresses, loop_marker=loop_marker):
        return codes.OWN_LOOP
    for code, check in CHECKS:
        if check(mail, envelope):
            return code
    return None
