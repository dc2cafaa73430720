"""Reply tokens: a customer token that only threads, and an engineer token that grants authority. Pure.

Customer token. Everything we send to a customer about incident 123 says
`support+INC-000123.<token>@domain` in Reply-To and `INC-000123.<token>` in a
footer line; the token is an HMAC of "incident:123". It threads a customer's
reply (issue 4, layers 2 and 3) and proves *nothing* about who wrote it: every
contact, every Cc'd colleague, the TAM and anyone they forward to holds it
(architecture.md, "authority by what the customer also holds"). Tokens of this
form issued before issue 10 keep threading customer replies unchanged.

Engineer token. Mail to the vendor side (queue notices, escalation letters,
command-error replies) says `support+INC-000123.e.<token>@domain` instead: an
HMAC of "engineer:123:<audience>", a different purpose in the same keyed hash,
so neither kind can be derived from the other. It is 16 base32 characters
(80 bits, more margin than threading needs) and the ".e." keeps the two forms
apart in an address or a footer at a glance.

What the engineer token is bound to, and why. The incident, so a token copied
from one incident's notice is useless on another. And the *one* vendor
mailbox the copy was addressed to (`audience`): gateway.outbound.audience
writes one copy per engineer recipient, each with its own token, and a copy
that reaches anyone who is not an engineer carries the customer token only.
A reply acts only when its From is an engineer and the token was issued to
that very From, or to the engineers' queue address (the desk every engineer
reads). So a token that leaks from one audience does not work elsewhere: an
engineer's personal command-error reply forwarded to a customer grants nothing
to any other address, and no engineer token ever sits in customer mail. We
bind to single mailboxes rather than to a whole recipient list because the
check must stay pure and stateless: a reply shows its From, not the list our
mail went to, and a list could only be recovered from the database.
Changing the queue address or the secret retires the tokens issued under the
old one; replies to older notices are then held, and the queue is told why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from functools import lru_cache

TOKEN_LENGTH = 10
ENGINEER_TOKEN_LENGTH = 16
ENGINEER_MARK = "e"
# INC-000123.abcdefghij — in an address's local part after "+", or anywhere in a body.
TOKEN_PATTERN = re.compile(r"INC-(\d{1,9})\.([a-z2-7]{%d})(?![a-z2-7])" % TOKEN_LENGTH, re.IGNORECASE)
# INC-000123.e.abcdefghijklmnop — the engineer form.
ENGINEER_TOKEN_PATTERN = re.compile(
    r"INC-(\d{1,9})\.%s\.([a-z2-7]{%d})(?![a-z2-7])" % (ENGINEER_MARK, ENGINEER_TOKEN_LENGTH), re.IGNORECASE)


@lru_cache(maxsize=8192)  # pure: a tick's letters ask for the same few tokens again and again (issue 14)
def _mac(secret: bytes, purpose: str, length: int) -> str:
    digest = hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def incident_token(secret: bytes, number: int) -> str:
    """The customer (threading) token for one incident number under one secret."""
    return _mac(secret, f"incident:{number}", TOKEN_LENGTH)


def token_is_valid(secret: bytes, number: int, token: str) -> bool:
    """Constant-time check of a customer token found in a reply."""
    return hmac.compare_digest(incident_token(secret, number), token.lower())


def reference(secret: bytes, number: int) -> str:
    """`INC-000123.abcdefghij`: the customer footer text and plus-address detail."""
    return f"INC-{number:06d}.{incident_token(secret, number)}"


def reply_address(support_address: str, secret: bytes, number: int) -> str:
    """`support+INC-000123.abcdefghij@domain`, the Reply-To of customer mail about an incident."""
    return plus_address(support_address, reference(secret, number))


def engineer_token(secret: bytes, number: int, audience: str) -> str:
    """The engineer token of incident `number` for the one vendor mailbox `audience`."""
    return _mac(secret, f"engineer:{number}:{audience.strip().lower()}", ENGINEER_TOKEN_LENGTH)


def engineer_token_is_valid(secret: bytes, number: int, token: str, audiences: Iterable[str]) -> bool:
    """Whether `token` was issued for incident `number` to one of `audiences` (constant time each)."""
    token = token.lower()
    found = False
    for audience in audiences:
        found |= hmac.compare_digest(engineer_token(secret, number, audience), token)
    return found


def engineer_reference(secret: bytes, number: int, audience: str) -> str:
    """`INC-000123.e.abcdefghijklmnop`: the footer text and plus-address detail of an engineer copy."""
    return f"INC-{number:06d}.{ENGINEER_MARK}.{engineer_token(secret, number, audience)}"


def engineer_reply_address(support_address: str, secret: bytes, number: int, audience: str) -> str:
    """`support+INC-000123.e.<token>@domain`, the Reply-To of an engineer copy."""
    return plus_address(support_address, engineer_reference(secret, number, audience))


def has_engineer_mark(text: str) -> bool:
    """Whether `text` may hold an engineer reference at all (".e." in either case)."""
    return f".{ENGINEER_MARK}." in text or f".{ENGINEER_MARK.upper()}." in text


def plus_address(support_address: str, detail: str) -> str:
    local, domain = support_address.rsplit("@", 1)
    return f"{local}+{detail}@{domain}"


def without_engineer_tokens(text: str) -> str:
    """`INC-000123.e.<token>` → `INC-000123`: what may remain of an engineer reference in customer mail."""
    if not has_engineer_mark(text):  # nearly all text: a substring test instead of a case-blind regex scan
        return text
    return ENGINEER_TOKEN_PATTERN.sub(lambda m: f"INC-{int(m.group(1)):06d}", text)
