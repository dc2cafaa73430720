"""Per-incident reply tokens: an HMAC of the incident number, carried in Reply-To and a body footer.

Everything we send about incident 123 says `support+INC-000123.<token>@domain`
in Reply-To and `INC-000123.<token>` in a footer line. A reply carrying the
token proves the writer received one of our mails about that incident; it is
what an engineer's reply must show besides its From (the hardening issue adds
DKIM/DMARC on top). The token is 10 base32 characters (50 bits): not
guessable, short enough for a footer, and safe in an address's local part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TOKEN_LENGTH = 10
# INC-000123.abcdefghij — in an address's local part after "+", or anywhere in a body.
TOKEN_PATTERN = re.compile(r"INC-(\d{1,9})\.([a-z2-7]{%d})(?![a-z2-7])" % TOKEN_LENGTH, re.IGNORECASE)


def incident_token(secret: bytes, number: int) -> str:
    """The token for one incident number under one secret."""
    digest = hmac.new(secret, f"incident:{number}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_LENGTH]


def token_is_valid(secret: bytes, number: int, token: str) -> bool:
    """Constant-time check of a token found in a reply."""
    return hmac.compare_digest(incident_token(secret, number), token.lower())


def reference(secret: bytes, number: int) -> str:
    """`INC-000123.abcdefghij`: the footer text and the plus-address detail."""
    return f"INC-{number:06d}.{incident_token(secret, number)}"


def reply_address(support_address: str, secret: bytes, number: int) -> str:
    """`support+INC-000123.abcdefghij@domain`, the Reply-To of everything we send about an incident."""
    local, domain = support_address.rsplit("@", 1)
    return f"{local}+{reference(secret, number)}@{domain}"
