"""Repair the start of a mail before the stdlib parser sees it, saying what was repaired.

Three shapes real mail arrives in that the stdlib parser reads as "no headers at all" or
as "headers end here" (issue 13, class 5), each repaired only in the header section and
recorded as a defect:

* a UTF-8 byte-order mark before the first header (Windows tools saving .eml files);
* a banner line such as ``---- Original email message ----`` before the headers (mail
  exported from help desks and webmail "show original");
* a continuation line that is not indented (RFC 5322 §2.2.3 requires WSP): the stdlib
  takes it for the start of the body and loses every header after it. It is taken as a
  continuation only when another header field follows it, so a mail that simply forgot
  the blank line before its body keeps that body.

The body is never touched; only a mail that needs a repair is copied.
"""

from __future__ import annotations

import re

BOM = b"\xef\xbb\xbf"
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")  # RFC 5322 §3.6.8 field name, then a colon
_BANNER = re.compile(rb"-{2,}[ \t]*[A-Za-z][A-Za-z ]*[A-Za-z][ \t]*-{2,}[ \t]*\r?\n")
_LOOKAHEAD = 256 * 1024  # header sections longer than this are judged by the header limits, not here


def header_section_length(raw: bytes) -> int:
    """Bytes before the first empty line (the whole mail if there is none); no copy, no regex."""
    end = len(raw)
    for blank in (b"\r\n\r\n", b"\n\r\n", b"\n\n"):  # each searched only up to the best so far
        found = raw.find(blank, 0, end)
        if found >= 0:
            end = found
    return end


def tidy(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The mail without a BOM or banner line before its headers, and the defects found (none: `raw` itself).

    Cheap checks of the first bytes; unindented continuations are repaired only when the
    stdlib parser reports a missing header/body separator (join_unindented).
    """
    defects: list[str] = []
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
        defects.append("header:byte-order-mark")
    banner = _BANNER.match(raw) if raw[:2] == b"--" else None
    if banner and _FIELD.match(raw, banner.end()):
        raw = raw[banner.end():]
        defects.append("header:banner-line-before-headers")
    return raw, tuple(defects)


def join_unindented(raw: bytes) -> bytes | None:
    """Indent continuation lines that lack WSP; None when the header section needs nothing."""
    end = header_section_length(raw[:_LOOKAHEAD])
    head = raw[:end]
    if not head or raw.startswith(b"From "):  # an mbox "From " line is the stdlib's to handle
        return None
    lines = head.split(b"\n")
    fields = [bool(_FIELD.match(line)) for line in lines]
    if all(fields[i] or lines[i][:1] in (b" ", b"\t") for i in range(len(lines))):
        return None
    last_field = max((i for i, is_field in enumerate(fields) if is_field), default=-1)
    repaired = []
    changed = False
    for index, line in enumerate(lines):
        if index and not fields[index] and line[:1] not in (b" ", b"\t") and index < last_field \
                and line.strip():
            line = b" " + line
            changed = True
        repaired.append(line)
    if not changed:
        return None
    return b"\n".join(repaired) + raw[end:]
