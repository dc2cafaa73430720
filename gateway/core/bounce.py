"""A bounce of one of our letters, and list or notification mail still wanted: what decide() makes of them. Pure.

Issue 13. A bounce (RFC 3464 or any form parsers.bounces recognises) that quotes
the Message-ID of a letter we sent — in In-Reply-To, References or the returned
headers — is recorded on that letter's incident instead of being only ignored: the
engineers hear of it in the thread, and the address that failed hard
`hard_bounce_limit` times is marked so automatic mail to it stops.

Mail that is automatic only because it is list or bulk mail (RFC 2369, RFC 2919,
Precedence), from an authorized contact — a customer's team list copying support —
is taken as the contact's mail, as is Auto-Submitted mail from a sender the
desk accepts (`[mail] accept_automatic_from`: ServiceNow, Jira). Neither is ever
answered (RFC 3834 §2: no automatic reply to automatic or list mail).
"""

from __future__ import annotations

from gateway import codes
from gateway.core.model import CONTACT, Action, Context, Decision
from parsers.model import ParsedMail

BOUNCE_REASONS = frozenset({codes.DELIVERY_REPORT, codes.BOUNCE})
LIST_REASONS = frozenset({codes.PRECEDENCE_BULK, codes.MAILING_LIST})
ACCEPTABLE_REASONS = frozenset({codes.AUTO_SUBMITTED, codes.AUTO_REPLY_HEADER, *LIST_REASONS})


def bounce_decision(mail: ParsedMail, automatic: str, context: Context, hard_bounce_limit: int) -> Decision | None:
    """RECORD_BOUNCE when the bounce quotes a letter we sent about an incident, else None."""
    bounce = mail.bounce
    if bounce is None or automatic not in BOUNCE_REASONS or not bounce.recipients:
        return None
    for message_id in bounce.original_message_ids:
        number = context.by_message_id.get(message_id)
        if message_id not in context.sent_message_ids or number not in context.incidents:
            continue
        hard = [r.address for r in bounce.recipients if r.hard]
        suppress = tuple(a for a in dict.fromkeys(hard)
                         if context.hard_bounces.get(a, 0) + 1 == hard_bounce_limit)
        return Decision(Action.RECORD_BOUNCE, codes.BOUNCE_RECORDED, incident=context.incidents[number],
                        automatic=automatic, bounce=bounce, bounced_message_id=message_id, suppress=suppress)
    return None


def accepts_automatic(accepted: frozenset[str], address: str) -> bool:
    """`[mail] accept_automatic_from` names the address or its domain ("@domain")."""
    address = address.lower()
    return bool(address) and (address in accepted or "@" + address.rpartition("@")[2] in accepted)


def quiet_reason(mail: ParsedMail, automatic: str, context: Context, accepted: frozenset[str]) -> str | None:
    """The reason to take automatic mail anyway, unanswered; None to ignore it."""
    if context.sender.role != CONTACT:
        return None  # from anyone else list mail stays ignored, as before
    if automatic in LIST_REASONS:
        return automatic
    if automatic in ACCEPTABLE_REASONS and accepts_automatic(accepted, mail.from_addr):
        return automatic
    return None
