"""decide(): what to do with one parsed inbound mail. Pure: plain values in, a Decision out."""

from __future__ import annotations

from dataclasses import dataclass

from gateway import codes
from gateway.core.model import Action, CustomerRef, Decision, Envelope
from gateway.core.rules import classify_automatic
from gateway.core.severity import assess_severity
from parsers.model import ParsedMail


@dataclass(frozen=True)
class Policy:
    """The parts of the settings that decisions depend on."""

    own_addresses: frozenset[str]
    loop_marker: str


def decide(
    mail: ParsedMail, envelope: Envelope, customer: CustomerRef | None, policy: Policy
) -> Decision:
    """Ignore automatic mail, hold mail we cannot place, open an incident for a contact.

    Loop safety comes first: an auto-reply from a known contact must never be
    answered, or two robots would write to each other forever.
    """
    automatic = classify_automatic(
        mail, envelope, own_addresses=policy.own_addresses, loop_marker=policy.loop_marker
    )
    if automatic is not None:
        return Decision(Action.IGNORE, automatic)
    if not mail.from_addr:
        return Decision(Action.HOLD, codes.NO_SENDER)
    if customer is None:
        return Decision(Action.HOLD, codes.UNKNOWN_SENDER)
    assessment = assess_severity(mail.subject, mail.body_text)
    return Decision(Action.OPEN_INCIDENT, codes.INCIDENT_OPENED, customer, assessment)
