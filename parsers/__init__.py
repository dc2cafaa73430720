"""Bytes → ParsedMail. The only package that imports mail-parser.

Everything else in the gateway sees mail through the frozen values in
`parsers.model`, so a change of parsing library touches this package alone.
"""

from parsers.model import Attachment, ParsedMail, UnparseableMail

__all__ = ["Attachment", "ParsedMail", "UnparseableMail", "parse_mail"]


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse one raw RFC 5322 message; raise UnparseableMail with a reason code."""
    from parsers.mail import parse_mail as _parse

    return _parse(raw)
