"""Threading: which incident a mail belongs to, by layers, strongest first (issue 4). Pure.

1. "message-id"     In-Reply-To / References name a mail we stored or sent.
2. "address-token"  a recipient is `support+INC-000123[.token]@…` (our Reply-To).
3. "body-token"     `INC-000123.token` in the body (our footer line; survives header loss).
4. "subject-tag"    `[INC-000123]` in the subject, also typed into a fresh mail.

A customer's mail goes into an incident only if the sender is an authorized
contact of that incident's customer, whatever the layer: otherwise anyone who
knows (or guesses) a number could write into anyone's incident. An engineer's
mail is placed only by a valid *engineer* token (`INC-000123.e.token`, layers 2
and 3), never by the customer token every contact holds (gateway.core.tokens;
the other checks of an engineer's reply are in gateway.core.authority).
"""

from __future__ import annotations

import re

from gateway.core.model import Clues, Context, CustomerRef, Envelope, IncidentState
from gateway.core.tokens import (
    ENGINEER_MARK,
    ENGINEER_TOKEN_PATTERN,
    TOKEN_PATTERN,
    engineer_token_is_valid,
    has_engineer_mark,
    token_is_valid,
)
from parsers.model import ParsedMail
from parsers.subject import incident_tags

MESSAGE_ID = "message-id"
ADDRESS_TOKEN = "address-token"
BODY_TOKEN = "body-token"
SUBJECT_TAG = "subject-tag"

# The plus-address detail: INC-000123, INC-000123.token (customer) or INC-000123.e.token (engineer).
_DETAIL = re.compile(r"^INC-(\d{1,9})(?:\.(%s\.)?([a-z2-7]+))?$" % ENGINEER_MARK, re.IGNORECASE)


def extract_clues(mail: ParsedMail, envelope: Envelope, own_addresses: frozenset[str]) -> Clues:
    """Every threading clue in a mail, in the order each layer should try them."""
    message_ids = tuple(dict.fromkeys((*mail.in_reply_to, *reversed(mail.references))))
    recipients = (*envelope.rcpt_tos, *mail.to, *mail.cc)
    address_refs = tuple(dict.fromkeys(ref for a in recipients if (ref := address_ref(a, own_addresses))))
    body_refs = tuple(dict.fromkeys((int(m.group(1)), m.group(2).lower())
                                    for m in TOKEN_PATTERN.finditer(mail.body_text)))
    engineer_refs = tuple(dict.fromkeys((
        *[(*ref, ADDRESS_TOKEN) for a in recipients if (ref := engineer_address_ref(a, own_addresses))],
        *[(int(m.group(1)), m.group(2).lower(), BODY_TOKEN)
          for m in (ENGINEER_TOKEN_PATTERN.finditer(mail.body_text) if has_engineer_mark(mail.body_text) else ())],
    )))
    return Clues(message_ids, address_refs, body_refs, incident_tags(mail.subject), engineer_refs)


def address_ref(address: str, own_addresses: frozenset[str]) -> tuple[int, str | None] | None:
    """`support+INC-000123.token@domain` → (123, "token") when support@domain is ours (customer form)."""
    match = _detail(address, own_addresses)
    if match is None or match.group(2):
        return None
    return int(match.group(1)), match.group(3)


def engineer_address_ref(address: str, own_addresses: frozenset[str]) -> tuple[int, str] | None:
    """`support+INC-000123.e.token@domain` → (123, "token") when support@domain is ours."""
    match = _detail(address, own_addresses)
    if match is None or not match.group(2) or not match.group(3):
        return None
    return int(match.group(1)), match.group(3)


def _detail(address: str, own_addresses: frozenset[str]) -> re.Match[str] | None:
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    base, plus, detail = local.partition("+")
    if not plus or f"{base}@{domain}" not in own_addresses:
        return None
    return _DETAIL.match(detail)


def customer_thread(context: Context, customer: CustomerRef, secret: bytes) -> tuple[IncidentState, str] | None:
    """The incident of `customer` this mail continues, and the layer that found it."""
    clues, incidents = context.clues, context.incidents

    def own(number: int | None) -> IncidentState | None:
        state = incidents.get(number) if number is not None else None
        return state if state is not None and state.customer_id == customer.customer_id else None

    for message_id in clues.message_ids:
        if found := own(context.by_message_id.get(message_id)):
            return found, MESSAGE_ID
    for number, token in clues.address_refs:
        if (token is None or token_is_valid(secret, number, token)) and (found := own(number)):
            return found, ADDRESS_TOKEN
    for number, token in clues.body_refs:
        if token_is_valid(secret, number, token) and (found := own(number)):
            return found, BODY_TOKEN
    for number in clues.subject_refs:
        if found := own(number):
            return found, SUBJECT_TAG
    return None


def engineer_thread(context: Context, secret: bytes, audiences: tuple[str, ...]) -> tuple[IncidentState, str] | None:
    """The incident an engineer's reply is about: only an engineer token issued to `audiences` places it.

    `audiences` are the mailboxes whose tokens this sender may use: their own
    From and the engineers' queue (gateway.core.tokens, "what the engineer token
    is bound to").
    """
    for number, token, layer in context.clues.engineer_refs:
        if number in context.incidents and engineer_token_is_valid(secret, number, token, audiences):
            return context.incidents[number], layer
    return None


def engineer_thread_by_clues(context: Context) -> tuple[IncidentState, str] | None:
    """`replay` only: an engineer recognised by From alone is placed by Message-ID, then subject tag.

    Recorded mail carries the tokens of another gateway's secret, so in a what-if
    run the From address is trusted; the daemon never calls this.
    """
    clues, incidents = context.clues, context.incidents
    for message_id in clues.message_ids:
        number = context.by_message_id.get(message_id)
        if number is not None and number in incidents:
            return incidents[number], MESSAGE_ID
    for number in clues.subject_refs:
        if number in incidents:
            return incidents[number], SUBJECT_TAG
    return None


def wanted_numbers(clues: Clues, by_message_id: dict[str, int]) -> set[int]:
    """Every incident number the shell should look up for these clues."""
    numbers = {by_message_id[m] for m in clues.message_ids if m in by_message_id}
    numbers.update(number for number, _ in clues.address_refs)
    numbers.update(number for number, _ in clues.body_refs)
    numbers.update(clues.subject_refs)
    numbers.update(number for number, _, _ in clues.engineer_refs)
    return numbers
