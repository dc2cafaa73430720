"""The Date header -> a timezone-aware datetime, or None.

mail-parser's ``parse_mail_date`` is the primary reader: it implements the
RFC 5322 section 3.3 grammar with the obsolete forms of section 4.3 and
rejects impossible dates (31 Feb, 25:00, "+9999") that the stdlib accepts or
crashes on. Two things it does not do, handled here:

* it returns UTC and keeps the offset only as a rounded float string
  ("+5.8" for +0545); we re-attach the sender's exact numeric offset;
* it gives up on a date without a zone and reads "JST" as -0000 (unknown
  zone, section 4.3), which is 9 hours off for this desk. "JST" becomes
  +0900; a missing zone falls back to the lenient stdlib reader and is
  taken as UTC, with a defect.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from mailparser.dates import parse_mail_date

from parsers.defects import Defects
from parsers.headers import header_text

_JST = re.compile(r"(?<=\d)(\s+)JST\b(?!\s*[+-]\d)", re.I)
_OFFSET = re.compile(r"\s([+-])(\d\d)(\d\d)\s*(?:\([^()]*\)\s*)?$")


def _sender_zone(text: str) -> timezone:
    match = _OFFSET.search(text)
    if not match:
        return timezone.utc
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return timezone.utc
    return timezone(-delta if sign == "-" else delta)


def parse_date(raw: str | None, defects: Defects) -> datetime | None:
    """Read one Date field body; record why when it is missing or odd."""
    if raw is None:
        defects.add("missing-date")
        return None
    text = _JST.sub(r"\1+0900", header_text(raw).strip())
    result = parse_mail_date(text)
    for reason in result.reasons:
        defects.add(f"date:{reason}")
    value: datetime | None = result.value
    if value is not None:
        return value.astimezone(_sender_zone(text))
    try:
        parts = email.utils.parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):  # pragma: no cover
        parts = None
    if parts is None or result.reasons != ("invalid-date-syntax",):
        return None  # garbage, or a syntactically fine date with bad components
    offset = parts[9]
    try:
        if offset is None:
            defects.add("date:no-zone-assumed-utc")
            zone = timezone.utc
        else:
            zone = timezone(timedelta(seconds=offset))
        value = datetime(*parts[:6], tzinfo=zone)
    except (ValueError, OverflowError):
        return None
    defects.add("date:lenient")
    return value
