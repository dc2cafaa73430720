"""Assess the opening severity of an inbound mail: 3, or 4 for a how-to or a suggestion.

One job: read a mail's subject and the head of its body and return a
`SeverityAssessment` (support-programs.md §1, Sophos 000 §5.1/§5.2):

* Every incident submitted by email starts at severity **3**, except a how-to
  question or a suggestion to change product features or documentation, which
  starts at **4** (000 §5.1, level-3 cell).
* A severity-4 cue is overridden by any *problem* cue (error, crash, down,
  エラー, 障害, 動かない, 原因, 回避...): "how do I fix this crash?" or "原因は何で
  しょうか" after a fault description is a problem, not a how-to. When in doubt
  the mail stays at 3, the default, because 3 has the shorter response target:
  an engineer can lower it, but a fault parked at 4 would miss its target.
  Problem words used as an action asked about do not count ("停止する方法",
  "一時停止", "シャットダウン", "how do I add an exception", "I cannot find
  where to set X"); nor does "virus"/"ウイルス" alone, everyday vocabulary for
  an anti-virus vendor; an infection, outbreak, detection or false positive does
  (002 appendix 2).
* A severity the customer *states* ("Severity: 2", "重要度：１", "[S1]",
  "【緊急】", "URGENT:") is returned as `requested_severity` only; the incident
  keeps 3/4 until an engineer assigns the final level (000 §5.2; 002 §3).

Decisions for the ambiguous forms (each has a test):

* Priority is not severity: "P1", "Priority: 1", "優先度" and "緊急度" are not
  read as a requested severity (ITIL priority = impact × urgency; the programs
  define only severity).
* A bare "レベル1" / "Level 1" is not a request (log levels, policy levels...);
  "深刻度レベル1" and "Severity Level 1" are.
* "S1".."S4" count only in the subject, and only as a tag: "[S1]", "【S1】" or
  "S1:" at the start (after Re:/Fw:/[tags]); never "S1000", "AWS S3", "(S3)".
* Urgency words mean "the most urgent level", so they are recorded as a
  requested 1 (Sophos calls level 1 緊急) and the customer is asked to phone
  (000 §5.1 note). In the subject: "URGENT"/"CRITICAL" as a tag ("URGENT:",
  "[Critical]", "... - URGENT" at the end; "URGENT" may also lead without
  punctuation, but "Critical update fails" is not a request), 至急 anywhere, and
  緊急 anywhere except compounds that are not a request (緊急時, 緊急度, 緊急性,
  緊急パッチ, 緊急アップデート, 緊急メンテナンス, 緊急連絡先...). In the body only
  the Japanese bracket tags 【緊急】/【至急】 and the label forms ("深刻度：緊急",
  "Severity: Critical") count; free text such as "critical section", "not
  urgent" or a pasted "[CRITICAL]" log line does not.
* Only 1–4 are requests. "Severity: 5", "Sev 0" or a range ("severity 1-4")
  state no severity and leave no cue: cues record text that influenced the
  assessment, and these did not.
* Several statements: the subject wins over the body (the customer writes the
  subject; the body may hold pasted alerts and logs); within one place the most
  urgent wins. Every statement is still recorded as a cue.
* The body is read only up to the first reply separator ("-----Original
  Message-----", "-----元のメッセージ-----", "On ... wrote:", "...書きました:")
  or signature delimiter ("-- "), without lines quoted with ">", and only its
  first 2,000 characters after that, so quoted history cannot set severity.
  (An Outlook "From:/Sent:" header block is left to the parser's quote stripping.)

All matching runs on NFKC-normalised, lower-cased text (full-width digits,
colons, spaces and brackets become ASCII). An English cue must follow a space,
line break or opening bracket, so "errorが" counts but "設定でerrorが" does not.
`Cue.matched` holds the text as the customer wrote it when normalisation kept
the offsets, else the normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from gateway.core.body_head import body_head
from gateway.core.model import Cue, SeverityAssessment
from gateway.core.severity_cues import (
    BODY_TAG,
    BOUNDARY_CHARS,
    CUE_MARKS,
    CUES_EN,
    CUES_JA,
    KIND_PROBLEM,
    KIND_REQUESTED,
    KIND_SEVERITY_4,
    LABEL_EN,
    LABEL_JA,
    SUBJECT_LEAD,
    SUBJECT_PREFIX,
    SUBJECT_QUESTION,
    SUBJECT_TAG,
    TAG_RULES,
    label_value,
)

DEFAULT_SEVERITY = 3  # 000 §5.1: every incident submitted by email starts at 3...
HOW_TO_SEVERITY = 4  # ...except a how-to question or a feature/documentation suggestion.

SUBJECT = "subject"
BODY = "body"

SUBJECT_HEAD = 1_000

# --- scanning ----------------------------------------------------------------------


class _Text:
    """One place (subject or body head), as found and as prepared for matching.

    `plain` and `words` are " " + NFKC(text).lower(), the second with line breaks and
    brackets read as spaces; both keep the offsets of each other.
    """

    __slots__ = ("where", "plain", "words", "_source")

    def __init__(self, where: str, original: str) -> None:
        normalised = unicodedata.normalize("NFKC", original)
        plain = " " + normalised.lower()
        words = plain
        for char in BOUNDARY_CHARS:
            words = words.replace(char, " ")
        self.where = where
        self.plain = plain
        self.words = words
        # Report what the customer wrote when NFKC and lower() kept the offsets aligned.
        if len(plain) != len(normalised) + 1:
            self._source = plain
        elif len(normalised) == len(original):
            self._source = " " + original
        else:
            self._source = " " + normalised

    def found(self, start: int, end: int) -> str:
        return self._source[start:end]

    def cues(self) -> Iterator[Cue]:
        words = self.words
        yield from self._cues(CUES_EN.finditer(words))
        if not words.isascii():
            yield from self._cues(CUES_JA.finditer(words))

    def _cues(self, matches: Iterator[re.Match[str]]) -> Iterator[Cue]:
        words = self.words
        seen: set[tuple[str | None, str]] = set()
        for m in matches:
            start = m.start() + (words[m.start()] == " ")  # an English cue starts at the space before it
            matched = self.found(start, m.end())
            if (m.lastgroup, matched) not in seen:  # a Cue is dear to build; repeats are dropped anyway
                seen.add((m.lastgroup, matched))
                kind, rule = CUE_MARKS[m.lastgroup or ""]
                yield Cue(kind, rule, matched, self.where)

    def subject_questions(self) -> Iterator[Cue]:
        for m in SUBJECT_QUESTION.finditer(self.words):
            start = m.start() + (self.words[m.start()] == " ")
            rule = "question:ja-subject" if m.group() == "質問" else "question:en-subject"
            yield Cue(KIND_SEVERITY_4, rule, self.found(start, m.end()), self.where)

    def requests(self) -> Iterator[tuple[int, Cue]]:
        """Every stated severity 1-4 in this place, with its cue."""
        plain = self.plain
        yield from self._labels(LABEL_EN, "requested:severity-label")
        if "重要度" in plain or "深刻度" in plain:
            yield from self._labels(LABEL_JA, "requested:juuyoudo-label")
        if self.where == SUBJECT:
            yield from (self._tag(m) for m in SUBJECT_TAG.finditer(plain))
            prefix = SUBJECT_PREFIX.match(plain, 1)
            lead = SUBJECT_LEAD.match(plain, prefix.end() if prefix else 1)
            if lead is not None:
                yield self._tag(lead)
        elif "緊急" in plain or "至急" in plain:
            yield from (self._tag(m) for m in BODY_TAG.finditer(plain))

    def _labels(self, pattern: re.Pattern[str], rule: str) -> Iterator[tuple[int, Cue]]:
        for m in pattern.finditer(self.plain):
            value = label_value(m.group("value"))
            if value is not None:
                yield value, Cue(KIND_REQUESTED, rule, self.found(m.start(), m.end()), self.where)

    def _tag(self, m: re.Match[str]) -> tuple[int, Cue]:
        s_value = m.groupdict().get("s_value")
        value, rule = (int(s_value), "requested:s-token") if s_value else (1, TAG_RULES[m.lastgroup or ""])
        return value, Cue(KIND_REQUESTED, rule, self.found(m.start(), m.end()), self.where)


def _unique(cues: Iterable[Cue]) -> tuple[Cue, ...]:
    return tuple(dict.fromkeys(cues))


def assess_severity(subject: str, body: str) -> SeverityAssessment:
    """Severity 3 or 4 for a new mail, plus the severity the customer stated, if any (§1)."""
    subject_text = _Text(SUBJECT, subject[:SUBJECT_HEAD])
    places = (subject_text, _Text(BODY, body_head(body)))
    requested: int | None = None
    stated: list[Cue] = []
    for text in places:  # subject first: a severity stated there wins over the body
        found = list(text.requests())
        stated.extend(cue for _, cue in found)
        if found and requested is None:
            requested = min(value for value, _ in found)  # the most urgent within one place
    cues = [*subject_text.subject_questions(), *(cue for text in places for cue in text.cues())]
    how_to = any(cue.kind == KIND_SEVERITY_4 for cue in cues)
    problem = any(cue.kind == KIND_PROBLEM for cue in cues)
    severity = HOW_TO_SEVERITY if how_to and not problem else DEFAULT_SEVERITY
    return SeverityAssessment(severity, requested, _unique([*stated, *cues]))
