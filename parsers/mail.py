"""Raw mail bytes -> a frozen ParsedMail (the one entry point of this package).

What we take from mail-parser and what we bypass, and why (each point is
pinned by a test in tests/unit/parsers/test_mailparser_behaviour.py):

* ``mailparser.parse_from_bytes`` is not called. It is
  ``email.message_from_bytes`` plus eager work we do not need (received-hop
  analysis, two header dicts, attachments re-encoded to base64 strings):
  1.3 ms for a 6 kB mail against 0.2 ms for the stdlib parse alone, and
  ~190 MB of peak memory for a 25 MB mail. We build the same stdlib
  ``Message`` with ``BytesFeedParser`` (as its own ``from_file`` does), after
  cutting big bodies out of the bytes it sees (parsers.elide).
* Its body text is wrong for Japanese: a 7-bit ISO-2022-JP body (CTE 7bit or
  none) is returned as raw escape sequences, CP50220 characters (① Ⅱ ㈱)
  turn the body and subject into escape sequences or U+FFFD, a Shift_JIS
  label is read with Python's strict shift_jis (no ①, ～, 髙), and raw
  Shift_JIS header bytes come out as "eXg" or surrogate escapes. Bodies and
  headers are decoded here (parsers.charsets, parsers.headers).
* We do use its address parser (``mailparser.utils.get_addresses``, with
  structural recovery and diagnostics) and its RFC 5322 date reader
  (``mailparser.dates.parse_mail_date``); see parsers.addresses and
  parsers.dates for the pre/post-processing they need.
"""

from __future__ import annotations

from email.errors import MissingHeaderBodySeparatorDefect
from email.feedparser import BytesFeedParser
from email.message import Message
from email.utils import collapse_rfc2231_value

from parsers import limits as bounds
from parsers.addresses import has_group, parse_addresses
from parsers.bounces import find_bounce
from parsers.dates import parse_date
from parsers.defects import Defects
from parsers.elide import Elided, elide
from parsers.headers import decode_header, message_ids
from parsers.mime import walk
from parsers.model import Limits, ParsedMail, UnparseableMail
from parsers.preamble import header_section_length, join_unindented, tidy
from parsers.senders import sender_of

# A header section with none of these is not a mail (RFC 5322 section 3.6
# fields, trace fields, MIME-Version): random bytes with a colon on the
# first line parse as "headers" too.
_MAIL_FIELDS = frozenset(
    "from sender reply-to to cc bcc subject date message-id in-reply-to references "
    "received return-path mime-version content-type delivered-to resent-from "
    "resent-date".split()
)
_FEED_SLICE = 1 << 16


def _feed(data: bytes) -> Message:
    parser = BytesFeedParser()
    view = memoryview(data)
    for start in range(0, len(view), _FEED_SLICE):
        parser.feed(bytes(view[start : start + _FEED_SLICE]))
    return parser.close()


def _build(raw: bytes) -> tuple[Message, Elided | None]:
    skeleton, elided = elide(raw)
    return _feed(skeleton), elided


def _all(msg: Message) -> dict[str, list[str]]:
    """Raw values of every top-level header, by lower-cased name, in order."""
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        found.setdefault(name.strip().lower(), []).append(str(value))
    return found


def declared_charsets(msg: Message) -> tuple[str, ...]:
    """The charsets the message declares for itself and its first parts: hints for raw header bytes."""
    found: dict[str, None] = {}
    for index, part in enumerate(msg.walk()):
        if index >= 20:
            break
        charset = part.get_param("charset")
        if isinstance(charset, str) and charset.strip():
            found.setdefault(charset.strip().lower(), None)
    return tuple(found)


def _extract(msg: Message, elided: Elided | None, repaired: tuple[str, ...], limits: Limits) -> ParsedMail:
    defects = Defects()
    for defect in repaired:
        defects.add(defect)
    raw = _all(msg)
    # The declared charsets only matter to raw 8-bit (or UTF-7) header text: most mail has none.
    wanted = any(not v.isascii() for values in raw.values() for v in values) or \
        "utf-7" in " ".join(raw.get("content-type", ())).lower()
    hints = declared_charsets(msg) if wanted else ()
    headers = {
        name: tuple(decode_header(value, defects, name, hints) for value in values)
        for name, values in raw.items()
    }
    sender = sender_of(raw, defects, hints)
    from_name, from_addr = sender.name, sender.address
    sender_field = parse_addresses(raw.get("sender", [])[:1], defects, "sender", hints)

    ids = message_ids(raw["message-id"][0]) if "message-id" in raw else ()
    if not ids:
        defects.add("missing-message-id")

    body, attachments = walk(msg, elided, defects)
    bounds.check_attachments(limits, len(attachments))
    content_type = msg.get_content_type()
    report_type = None
    if content_type == "multipart/report":
        value = msg.get_param("report-type")
        if isinstance(value, tuple):  # RFC 2231 form
            value = collapse_rfc2231_value(value)
        report_type = value.strip().lower() if isinstance(value, str) and value.strip() else None

    subject = headers.get("subject", ("",))[0].replace("\t", " ").strip()
    to = tuple(addr for _, addr in parse_addresses(raw.get("to", []), defects, "to", hints))
    in_reply_to = message_ids(" ".join(raw.get("in-reply-to", [])))
    references = message_ids(" ".join(raw.get("references", [])))
    bounce = find_bounce(msg, from_addr=from_addr, to=to, subject=subject, headers=headers, body_text=body.text,
                         attachments=attachments, content_type=content_type, report_type=report_type,
                         own_id=ids[0] if ids else None, thread_ids=in_reply_to + references[::-1])
    return ParsedMail(
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        cc=tuple(addr for _, addr in parse_addresses(raw.get("cc", []), defects, "cc", hints)),
        reply_to=sender.reply_to,
        subject=subject,
        message_id=ids[0] if ids else None,
        in_reply_to=in_reply_to,
        references=references,
        date=parse_date(raw["date"][0] if "date" in raw else None, defects),
        body_text=body.text,
        body_source=body.source,
        attachments=attachments,
        content_type=content_type,
        report_type=report_type,
        headers=headers,
        defects=defects.freeze(),
        from_mailboxes=sender.mailboxes,
        from_headers=len(raw.get("from", [])),
        from_group=has_group(raw.get("from", [])),
        sender_addr=sender_field[0][1] if sender_field else "",
        from_source=sender.source,
        from_display=sender.display,
        bounce=bounce,
    )


def parse_mail(raw: bytes, limits: Limits | None = None) -> ParsedMail:
    """Parse one raw RFC 5322 message; raise UnparseableMail with a reason code.

    `limits` bound what the mail may cost (parsers.limits); over one, UnparseableMail
    carries that bound's code.
    """
    limits = limits or Limits()
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise UnparseableMail("not-bytes", f"expected bytes, got {type(raw).__name__}")
    if isinstance(raw, memoryview):  # bytes and bytearray are read as they are: a 25 MB mail is not copied
        raw = bytes(raw)
    start = 0
    while start < len(raw) and raw[start] in b"\r\n":  # stray blank lines before the headers
        start += 1
    if start:
        raw = raw[start:]
    if not raw or raw.isspace():  # isspace() stops early and copies nothing
        raise UnparseableMail("empty", "only whitespace" if raw else "no bytes")
    raw, repaired = tidy(raw)
    if limits.max_header_bytes is not None:
        bounds.check_header(limits, header_section_length(raw))
    try:
        msg, elided = _build(raw)
        if any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in msg.defects):
            joined = join_unindented(raw)  # a continuation line without WSP cut the headers short
            if joined is not None:
                msg, elided = _build(joined)
                repaired += ("header:unindented-continuation",)
    except RecursionError:
        raise UnparseableMail("mime-too-deep", "MIME nesting too deep to parse") from None
    except Exception as exc:  # the stdlib parser is not supposed to raise at all
        raise UnparseableMail("parser-error", f"{type(exc).__name__}: {exc}") from exc
    if not any(name.strip().lower() in _MAIL_FIELDS for name in msg.keys()):
        raise UnparseableMail("not-a-mail", "no mail header fields before the body")
    bounds.check_tree(limits, msg)
    try:
        return _extract(msg, elided, repaired, limits)
    except UnparseableMail:
        raise
    except RecursionError:
        raise UnparseableMail("mime-too-deep", "MIME nesting too deep to read") from None
    except Exception as exc:  # last resort: a bug here must not kill the intake loop
        raise UnparseableMail("parser-error", f"{type(exc).__name__}: {exc}") from exc
