"""Bytes → ParsedMail. The only package that imports mail-parser.

Everything else in the gateway sees mail through the frozen values in
`parsers.model`, so a change of parsing library touches this package alone.
"""

from parsers.model import Attachment, BounceReport, FailedRecipient, Limits, ParsedMail, UnparseableMail

__all__ = ["Attachment", "BounceReport", "FailedRecipient", "Limits", "ParsedMail", "UnparseableMail",
           "parse_mail"]


def parse_mail(raw: bytes, limits: Limits | None = None) -> ParsedMail:
    """Parse one raw RFC 5322 message; raise UnparseableMail with a reason code (limits: parsers.limits)."""
    from parsers.mail import parse_mail as _parse

    return _parse(raw, limits)
