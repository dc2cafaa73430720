"""decide(): what to do with one parsed inbound mail. Pure: plain values in, a Decision out.

The shell (gateway.work.processor) looks up the sender's role, the threading clues'
incidents and the Message-IDs we know, and passes them in as a Context.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gateway import codes
from gateway.core import authenticity
from gateway.core import commands as cmd
from gateway.core.authority import Authority, carries_token, check_engineer
from gateway.core.bounce import bounce_decision, quiet_reason
from gateway.core.commands import ParsedReply, parse_reply, split_items
from gateway.core.conversation import customer_message, engineer_reply, status_text_of
from gateway.core.correlate import customer_thread, engineer_thread_by_clues
from gateway.core.escalation import asks_to_escalate, escalate, escalate_address_used, says_more_than_escalate
from gateway.core.model import (
    CONTACT,
    ENGINEER,
    UNKNOWN_AT_CUSTOMER,
    Action,
    Context,
    Decision,
    Envelope,
    RESOLVED,
    Event,
    IncidentState,
    SeverityAssessment,
    SplitItem,
)
from gateway.core.rules import classify_automatic
from gateway.core.severity import assess_severity
from gateway.core.severity_review import asked_review
from parsers.model import ParsedMail
from parsers.quotes import strip_quotes
from parsers.subject import base_subject


@dataclass(frozen=True)
class Policy:
    """The parts of the settings that decisions depend on."""

    own_addresses: frozenset[str]
    loop_marker: str
    token_secret: bytes = b""
    held_reply: bool = True  # answer unknown addresses of known customer domains politely
    workaround_plans: frozenset[str] = frozenset()  # plans where level 1 with a workaround becomes 2
    # plan → customer escalation ladder (Kaspersky: tam, support-lead, account-manager)
    escalation_ladders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # `replay` only: engineers are recognised by From alone (recorded mail has no valid token).
    trust_engineer_from: bool = False
    authentication: authenticity.AuthPolicy | None = None  # [authentication]; None: nothing is checked
    # The engineers' queue: an engineer token issued to it is good for every engineer (gateway.core.tokens).
    engineer_queue: str | None = None
    accept_automatic_from: frozenset[str] = frozenset()  # [mail]: addresses and "@domains"
    hard_bounce_limit: int = 3  # [mail]: hard bounces before automatic mail to an address stops


def decide(mail: ParsedMail, envelope: Envelope, context: Context, policy: Policy) -> Decision:
    """Ignore automatic mail, hold mail we cannot place, else open or continue a conversation.

    Loop safety comes first: an auto-reply from a known contact must never be
    answered (two robots would write to each other forever), and it never
    moves an incident's side: it stops here, before any threading.
    """
    automatic = classify_automatic(
        mail, envelope, own_addresses=policy.own_addresses, loop_marker=policy.loop_marker
    )
    quiet = None
    if automatic is not None:
        bounced = bounce_decision(mail, automatic, context, policy.hard_bounce_limit)
        if bounced is not None:
            return bounced
        quiet = quiet_reason(mail, automatic, context, policy.accept_automatic_from)
        if quiet is None:
            return Decision(Action.IGNORE, automatic, automatic=automatic)
    if not mail.from_addr:
        return Decision(Action.HOLD, codes.NO_SENDER)
    sender = context.sender
    held = authenticity.held_for_authentication(sender, context.authentication, policy.authentication)
    if held is not None:  # issue 10: proof of the sender comes before anything the mail asks for
        return held
    if sender.role == ENGINEER:
        return _engineer(mail, context, policy)
    if sender.role == UNKNOWN_AT_CUSTOMER:
        return Decision(Action.HOLD, codes.UNKNOWN_CONTACT, sender.customer, held_reply=policy.held_reply)
    if sender.role != CONTACT or sender.customer is None:
        return Decision(Action.HOLD, codes.UNKNOWN_SENDER)
    decision = _customer(mail, envelope, context, policy)
    if quiet:
        decision = replace(decision, automatic=automatic, quiet=quiet)
    return authenticity.recorded(decision, context.authentication)


def _customer(mail: ParsedMail, envelope: Envelope, context: Context, policy: Policy) -> Decision:
    customer = context.sender.customer
    assert customer is not None
    text = strip_quotes(mail.body_text) or mail.body_text.strip()
    found = customer_thread(context, customer, policy.token_secret)
    if found is None:
        assessment = assess_severity(base_subject(mail.subject) or mail.subject, mail.body_text)
        return Decision(Action.OPEN_INCIDENT, codes.INCIDENT_OPENED, customer, assessment, text=text,
                        contact_name=context.sender.contact_name)
    incident, layer = found
    if incident.is_finished:
        # support-programs.md §1 (000 §5.4): a problem coming back after resolution is a new incident.
        assessment = assess_severity(base_subject(mail.subject) or mail.subject, mail.body_text)
        return Decision(Action.OPEN_INCIDENT, codes.RECURRENCE_OPENED, customer, assessment,
                        threaded_by=layer, linked_to=incident, text=text, contact_name=context.sender.contact_name)
    after, events = customer_message(incident, mail.from_addr, mail.message_id, layer)
    escalation = None
    ladder = policy.escalation_ladders.get(incident.plan, ())
    if ladder and (asks_to_escalate(base_subject(mail.subject), text)
                   or escalate_address_used((*envelope.rcpt_tos, *mail.to, *mail.cc), policy.own_addresses)):
        more, escalation = escalate(incident, ladder, mail.from_addr)
        if not says_more_than_escalate(text):  # issue 14: a bare #escalate supplies nothing that was asked
            after, events = replace(after, side=incident.side), tuple(e for e in events if e.type != "side")
        events = (*events, *more)
        if escalation.accepted:
            after = replace(after, escalation_level=escalation.level)
    review = asked_review(text, incident.severity)
    if review is not None:  # Sophos §5.4: recorded and told; only an engineer's #severity changes it
        events = (*events, Event("severity-review-requested", review.event_data(mail.from_addr)))
    return Decision(Action.CUSTOMER_REPLY, codes.CUSTOMER_REPLIED, customer, incident=incident, after=after,
                    events=events, threaded_by=layer, text=text, customer_escalation=escalation,
                    severity_review=review)


def _engineer(mail: ParsedMail, context: Context, policy: Policy) -> Decision:
    """An engineer's reply acts only with one From mailbox and an engineer token (gateway.core.authority)."""
    reply = parse_reply(strip_quotes(mail.body_text))
    authority = check_engineer(mail, context, policy.token_secret, policy.engineer_queue)
    found = authority.placed
    if found is None and policy.trust_engineer_from:
        found = engineer_thread_by_clues(context)
    if found is None or authority.from_problems:
        return _unverified(authority, reply, context, token_checked=found is None)
    incident, layer = found
    errors = [f"{error.line}: {error.message}" for error in reply.errors]
    errors += _state_errors(incident, reply, len(mail.attachments))
    splits = _splits(reply, errors)
    if errors:  # nothing is applied or relayed; the engineer gets the text back with what was not applied
        return Decision(Action.COMMAND_ERROR, codes.COMMAND_ERROR, incident=incident, threaded_by=layer,
                        errors=tuple(errors), text=reply.text,
                        not_applied=tuple(c.line for c in reply.commands),
                        command_used=bool(reply.commands or reply.errors))
    after, events, outcome = engineer_reply(
        incident, reply, mail.from_addr, layer,
        workaround_downgrades=incident.plan in policy.workaround_plans, splits=splits,
        attachments=len(mail.attachments))
    return Decision(Action.ENGINEER_REPLY, codes.ENGINEER_REPLIED, incident=incident, after=after,
                    events=events, threaded_by=layer, engineer=outcome, text=reply.text)


def _unverified(authority: Authority, reply: ParsedReply, context: Context, *, token_checked: bool) -> Decision:
    """Held, changing nothing, answering nobody; the queue hears of it if it tried to act (issue 10)."""
    problems = authority.problems if token_checked else authority.from_problems
    acting = bool(reply.commands or reply.errors) or carries_token(context)
    return Decision(Action.HOLD, codes.ENGINEER_UNVERIFIED, incident=authority.claimed,
                    detail="; ".join(problems), queue_line=acting)


def _state_errors(incident: IncidentState, reply: ParsedReply, attachments: int) -> list[str]:
    if not reply.commands and not reply.text.strip() and not attachments:  # files alone are relayed (issue 11)
        return ["the reply is empty: nothing to relay and no command"]
    if reply.has(cmd.STATUS) and not status_text_of(reply):
        return ["#status needs the text for the customer's next status report, "
                "e.g. '#status The fix is being tested; we expect results by 15:00.'"]
    internal_only = reply.has(cmd.NOTE) and all(c.name in (cmd.NOTE, cmd.ASSIGN) for c in reply.commands)
    if reply.has(cmd.REOPEN):
        if incident.status != RESOLVED:
            return [f"#reopen: {incident.ref} is {incident.status}; only a resolved incident can be reopened"
                    + ("" if incident.is_finished else " (this one is still open)")]
        return []
    if incident.is_finished and not internal_only:
        if incident.status == RESOLVED:
            return [f"{incident.ref} is resolved: reply with #reopen [reason] (and your text) to reopen it, "
                    "or #note / #assign to record something internally; a new problem of the customer "
                    "is a new incident"]
        return [f"{incident.ref} is {incident.status}: only #note and #assign are possible (a closed "
                "incident cannot be reopened); a new problem of the customer is a new incident"]
    return []


def _splits(reply: ParsedReply, errors: list[str]) -> tuple[SplitItem, ...]:
    if not reply.has(cmd.SPLIT):
        return ()
    items = split_items(reply.text)
    if len(items) < 2:
        errors.append("#split: list the separate problems below it, one per line ('- first problem'), "
                      "at least two")
        return ()
    return tuple(SplitItem(text, _item_severity(stated, text)) for stated, text in items)


def _item_severity(stated: int | None, text: str) -> SeverityAssessment:
    assessed = assess_severity(text, text)
    if stated is None:
        return assessed
    return SeverityAssessment(stated, assessed.requested_severity, assessed.cues)
