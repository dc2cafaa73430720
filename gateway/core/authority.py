"""Whether a mail from an engineer's address may act on an incident, and if not, why (issue 10). Pure.

An engineer's reply changes an incident only when all of these hold:

1. exactly one From header field (RFC 5322 §3.6 allows one), holding exactly one
   mailbox, not written as a group (RFC 6854), and readable without guessing.
   With two mailboxes or two From fields, which one "the" author is depends on
   the program reading it, so a forger puts the engineer first for us and
   himself first for everyone else;
2. that mailbox is an engineer's (settings [engineers]; the shell found the role);
3. the mail carries an engineer token (gateway.core.tokens) valid for the
   incident and issued to that very mailbox or to the engineers' queue. The
   customer token, which every contact holds, proves nothing.

Anything else is held as `engineer-unverified` with the reasons in words. The
reasons go to an operator (the inbound row) and, in one line, to the engineers'
queue: never to the sender, whose From may be forged (no backscatter).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.correlate import engineer_thread
from gateway.core.model import Context, IncidentState
from gateway.core.tokens import token_is_valid
from parsers.model import ParsedMail


@dataclass(frozen=True)
class Authority:
    """What an engineer's mail proved: the incident it may act on, or why not."""

    placed: tuple[IncidentState, str] | None  # (incident, threading layer) of a valid engineer token
    from_problems: tuple[str, ...]  # what is wrong with the From header(s)
    token_problem: str  # "" when an engineer token placed the mail
    claimed: IncidentState | None  # the incident the mail points at by any clue, for the queue's line

    @property
    def problems(self) -> tuple[str, ...]:
        return (*self.from_problems, *((self.token_problem,) if self.token_problem else ()))


def check_engineer(mail: ParsedMail, context: Context, secret: bytes, queue: str | None) -> Authority:
    """Check an engineer's mail against rules 1 and 3 above (rule 2 is the sender's role)."""
    audiences = (mail.from_addr, *((queue,) if queue else ()))
    placed = engineer_thread(context, secret, audiences)
    return Authority(placed, from_problems(mail), "" if placed else token_problem(context, secret),
                     placed[0] if placed else claimed_incident(context, secret))


def from_problems(mail: ParsedMail) -> tuple[str, ...]:
    """Why the From header(s) do not name exactly one author."""
    problems = []
    if mail.from_headers != 1:
        problems.append(f"{mail.from_headers} From headers")
    if len(mail.from_mailboxes) != 1:
        problems.append(f"{len(mail.from_mailboxes)} From mailboxes")
    if mail.from_group:
        problems.append("From in group syntax")
    # The parser read the From only by recovering from broken syntax (parsers.addresses): authority
    # never rests on a guess.
    broken = [d.removeprefix("address:from:") for d in mail.defects if d.startswith("address:from:")]
    if broken:
        problems.append(f"From header malformed ({', '.join(broken)})")
    return tuple(problems)


def token_problem(context: Context, secret: bytes) -> str:
    """Why no engineer token placed the mail, the most telling reason first."""
    clues, incidents = context.clues, context.incidents
    numbers = [number for number, _, _ in clues.engineer_refs]
    if known := [number for number in numbers if number in incidents]:
        return (f"engineer token not valid for INC-{known[0]:06d} from this sender "
                "(issued for another incident or to another recipient)")
    if numbers:
        return f"engineer token for INC-{numbers[0]:06d}, which does not exist"
    customer_refs = [(n, t) for n, t in clues.address_refs if t is not None] + list(clues.body_refs)
    if any(token_is_valid(secret, number, token) for number, token in customer_refs):
        return "customer token, not an engineer token"
    if customer_refs:
        return "invalid reply token"
    return "no engineer token"


def carries_token(context: Context) -> bool:
    """Whether the mail shows any reply token at all, valid or not, engineer's or customer's."""
    clues = context.clues
    return bool(clues.engineer_refs or clues.body_refs or any(t is not None for _, t in clues.address_refs))


def claimed_incident(context: Context, secret: bytes) -> IncidentState | None:
    """The incident a held reply seems to be about (any engineer token, customer token, Message-ID, tag)."""
    clues, incidents = context.clues, context.incidents
    numbers = [n for n, _, _ in clues.engineer_refs]
    numbers += [n for n, t in clues.address_refs if t is not None and token_is_valid(secret, n, t)]
    numbers += [n for n, t in clues.body_refs if token_is_valid(secret, n, t)]
    numbers += [context.by_message_id[m] for m in clues.message_ids if m in context.by_message_id]
    numbers += list(clues.subject_refs)
    return next((incidents[n] for n in numbers if n in incidents), None)
