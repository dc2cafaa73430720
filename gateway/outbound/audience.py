"""Who gets which copy of a letter, and so which reply token each copy carries (issue 10).

- A letter to the customer (acks, relayed answers, status reports... with the
  TAM's copy on the tam plan) is one mail with the customer token, which
  threads and grants nothing.
- A letter to the vendor side (queue notices, escalation letters, command
  errors) is one copy per *engineer mailbox* among its recipients — the
  engineers' queue address, or an [engineers] address or domain — each with
  an engineer token bound to that mailbox (gateway.core.tokens says why).
  Every other recipient (a manager who is not configured as an engineer, a
  TAM at the customer's) shares one copy with the customer token.

So an engineer token is only ever written into mail to an engineer mailbox;
and no other copy may show one in its text either (an engineer who pastes
their token into an answer, a #split item): `without_engineer_tokens` cuts any
such reference down to the bare incident number.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.app import App
from gateway.outbound.letter import TO_CUSTOMER, Letter


@dataclass(frozen=True)
class Copy:
    to: tuple[str, ...]
    engineer: str | None  # the engineer mailbox this copy's token is bound to; None: the customer token


def copies(app: App, letter: Letter) -> list[Copy]:
    """The copies one letter is written as: engineer mailboxes one each, everyone else together."""
    if letter.direction == TO_CUSTOMER or letter.number is None:
        return [Copy(letter.to, None)]
    engineers = [address for address in letter.to if is_engineer_mailbox(app, address)]
    others = tuple(address for address in letter.to if address not in engineers)
    return [*(Copy((address,), address) for address in engineers), *([Copy(others, None)] if others else [])]


def is_engineer_mailbox(app: App, address: str) -> bool:
    """The engineers' queue or an engineer's own address: the only places an engineer token may go."""
    engineers = app.settings.engineers
    queue = engineers.queue_address
    return (queue is not None and address.lower() == queue.lower()) or engineers.is_engineer(address)
