"""Bounds on one mail (settings `[mail]`): over one, the mail is unparseable with a code naming the bound.

A hostile mail can be small on the wire and still cost much: thousands of header
fields, a header section of megabytes, MIME nested hundreds deep, tens of thousands
of empty parts, thousands of attachments to store. Each bound has its own reason code,
so an operator reading the quarantine knows which one a mail hit.
"""

from __future__ import annotations

from email.message import Message

from parsers.model import Limits, UnparseableMail

TOO_MANY_HEADER_FIELDS = "too-many-header-fields"
HEADER_TOO_LARGE = "header-too-large"
MIME_TOO_DEEP = "mime-too-deep"
TOO_MANY_PARTS = "too-many-parts"
TOO_MANY_ATTACHMENTS = "too-many-attachments"
CODES = (TOO_MANY_HEADER_FIELDS, HEADER_TOO_LARGE, MIME_TOO_DEEP, TOO_MANY_PARTS, TOO_MANY_ATTACHMENTS)


def _over(value: int, bound: int | None) -> bool:
    return bound is not None and value > bound


def check_header(limits: Limits, header_bytes: int) -> None:
    """Before parsing: the header section's size."""
    if _over(header_bytes, limits.max_header_bytes):
        raise UnparseableMail(HEADER_TOO_LARGE, f"header section of {header_bytes} bytes "
                                                f"(limit {limits.max_header_bytes})")


def check_tree(limits: Limits, root: Message) -> None:
    """After parsing: the number of top-level header fields, the MIME depth and the number of parts."""
    fields = len(root.keys())
    if _over(fields, limits.max_header_fields):
        raise UnparseableMail(TOO_MANY_HEADER_FIELDS, f"{fields} header fields (limit {limits.max_header_fields})")
    if limits.max_mime_depth is None and limits.max_parts is None:
        return
    parts = 0
    stack: list[tuple[Message, int]] = [(root, 0)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if _over(depth, limits.max_mime_depth):
            raise UnparseableMail(MIME_TOO_DEEP, f"MIME parts nested deeper than {limits.max_mime_depth}")
        if _over(parts, limits.max_parts):
            raise UnparseableMail(TOO_MANY_PARTS, f"more than {limits.max_parts} MIME parts")
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))


def check_attachments(limits: Limits, count: int) -> None:
    if _over(count, limits.max_attachments):
        raise UnparseableMail(TOO_MANY_ATTACHMENTS, f"{count} attachments (limit {limits.max_attachments})")
