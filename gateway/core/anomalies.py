"""Header anomalies: From fields that do not name one author, a Sender that is not the From (issue 10). Pure.

A customer's mail is never refused for these (real mailers produce some of
them: a secretary's client sets Sender, a list rewrites it), but an engineer
reading the notice should know the author may not be who the From says. The
flags are stored on the inbound row (the mail's own record, also for mail that
is held or ignored and never reaches an incident) and shown in the engineers'
notice (templates/*/notify.txt.j2 words them). An engineer's reply with the first three is not accepted at all
(gateway.core.authority).
"""

from __future__ import annotations

from gateway import codes
from gateway.core.model import Action, Decision
from parsers.model import ParsedMail


def header_anomalies(mail: ParsedMail, *, contact: bool) -> tuple[str, ...]:
    """The anomaly codes of one mail; Sender ≠ From counts for a contact's mail only.

    RFC 5322 §3.6.2: Sender names the agent that sent a mail on the author's
    behalf. For a contact it is the one thing that tells the engineers someone
    else may have typed the mail; for anyone else the mail is held anyway.
    """
    found = []
    if mail.from_headers > 1:
        found.append(codes.SEVERAL_FROM_HEADERS)
    if len(mail.from_mailboxes) > 1:
        found.append(codes.SEVERAL_FROM_MAILBOXES)
    if mail.from_group:
        found.append(codes.FROM_GROUP)
    if contact and mail.sender_addr and mail.sender_addr != mail.from_addr:
        found.append(codes.SENDER_NOT_FROM)
    return tuple(found)


def anomalies_of(mail: ParsedMail, decision: Decision) -> tuple[str, ...]:
    """The anomalies of a decided mail: its sender counts as a contact when it opened or continued an incident."""
    return header_anomalies(mail, contact=decision.action in (Action.OPEN_INCIDENT, Action.CUSTOMER_REPLY))

