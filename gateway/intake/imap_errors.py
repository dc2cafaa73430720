"""The one IMAP error the poller treats apart: a refused login, which needs a person, not a quick retry."""

from __future__ import annotations


class ImapAuthError(Exception):
    """The server refused our credentials (RFC 3501 §6.2.3 LOGIN NO, RFC 5530 AUTHENTICATIONFAILED),
    or there were no credentials to offer (an unreadable token file, a token endpoint that gave none)."""
