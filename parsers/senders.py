"""Who sent a mail: the From mailbox, or a fallback that says where it came from (issue 13, class 6).

A From that yields no addr-spec ("x <x>", "Test test@example.com", no From at all)
used to become "", which the rest of the gateway could only hold as "no sender".
Here, in order: the first mailbox of From; a single unambiguous address in a broken
From (parsers.addresses.recover_sender); the Reply-To mailbox; the Sender mailbox
(RFC 5322 §3.6.2: the agent who sent it). Each fallback is named in `source` and in a
defect ("from-fallback:reply-to"), and the From field as written is kept for display.
Nothing is granted by it: a From is the sender's claim either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsers.addresses import parse_addresses, recover_sender
from parsers.defects import Defects
from parsers.headers import clean, decode_words, header_text


@dataclass(frozen=True)
class Sender:
    name: str
    address: str
    source: str  # "from" | "from-recovered" | "reply-to" | "sender" | "none"
    display: str  # the From field as written, decoded, when it gave no mailbox ("" otherwise)
    reply_to: tuple[str, ...]
    # Every mailbox the From field(s) name, de-duplicated (issue 10: an engineer's mail must name
    # exactly one); a recovered address counts as the one mailbox, a fallback as none.
    mailboxes: tuple[str, ...] = ()


def sender_of(raw: dict[str, list[str]], defects: Defects, hints: tuple[str, ...]) -> Sender:
    values = raw.get("from", [])
    reply_to = parse_addresses(raw.get("reply-to", []), defects, "reply-to", hints)
    addresses = tuple(addr for _, addr in reply_to)
    senders = parse_addresses(values, defects, "from", hints)
    if senders:
        mailboxes = tuple(dict.fromkeys(addr for _, addr in senders))
        return Sender(senders[0][0], senders[0][1], "from", "", addresses, mailboxes)
    display = clean(decode_words(header_text(values[0], None, "from", hints))).strip()[:500] if values else ""
    if not values:
        defects.add("missing-from")
    else:
        recovered = recover_sender(values)
        if recovered:
            defects.add("address:from:recovered")
            name = display.replace(recovered, "").strip(" <>\"'") if display.count(recovered) == 1 else ""
            return Sender(name if "@" not in name else "", recovered, "from-recovered", display, addresses,
                          (recovered,))
        defects.add("from-without-address")
    for source, found in (("reply-to", reply_to), ("sender", parse_addresses(raw.get("sender", []), defects,
                                                                            "sender", hints))):
        if found:
            defects.add(f"from-fallback:{source}")
            return Sender(found[0][0], found[0][1], source, display, addresses)
    return Sender("", "", "none", display, addresses)
