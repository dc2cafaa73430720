"""Auto-replies that carry no header marker at all: known subject prefixes, and challenge-response robots.

Issue 13, class 2. Old Exchange and Lotus Notes servers, vacation scripts and phone
carriers send out-of-office replies with nothing but their subject to tell them by
("Out of Office: Re: [INC-000003] …", "AUTO: X is out of the office", "不在通知:",
"Abwesenheitsnotiz:", "Réponse automatique :"). A person may type such words too
("Automatic reply: is it configurable?"), so a prefix alone is taken as automatic
only when the mail *answers* something — it has In-Reply-To or References, or what
follows the prefix is itself a reply or an incident tag — or when its wording says
"is out of the office", which no one types about a question.

Challenge-response systems (TMDA, Spam Arrest, Boxbe, Mailblocks...) answer a mail
with "RE: <subject>" from the person's own address, asking us to prove we are human;
answering them confirms a robot to a robot. They are told by their headers, TMDA's
"-confirm-" return address, or their standard wording near the top of the body.
"""

from __future__ import annotations

import re

from parsers.model import ParsedMail
from parsers.subject import fold_width, strip_prefixes

_PREFIX = re.compile(
    r"^\s*(?:[\[【(（]\s*)?(?:"
    r"automatic reply|auto[ -]?reply|autoreply|auto[ -]?response|automatic response|auto|"
    r"out of (?:the )?office(?: reply| autoreply| auto reply)?|vacation reply|away from (?:the )?office|"
    r"不在通知|不在連絡|不在|自動応答|自動返信|自動応答メール|自動返信メール|"
    r"abwesenheitsnotiz|automatische antwort|automatische abwesenheitsnotiz|abwesend|außer haus|"
    r"r[ée]ponse automatique(?: d'absence du bureau)?|absence du bureau|message d'absence|absent(?:e)?"
    r")\s*(?:[\]】)）]\s*[:：]?|[:：])\s*",
    re.IGNORECASE,
)
_SAYS_AWAY = re.compile(r"\bis out of (?:the )?office\b|\bist abwesend\b|\best absent", re.IGNORECASE)
_TAG = re.compile(r"^\s*[\[【]\s*INC-\d{1,9}\s*[\]】]", re.IGNORECASE)

_CR_HEADERS = ("x-boxbe-screening", "x-spamarrest-noauth", "x-spamarrest-challenge", "x-challenge",
               "x-challenge-response", "x-mailblocks", "x-sendio-challenge")
_CR_AGENT = re.compile(r"\b(?:tmda|qconfirm|choicemail|spamarrest|boxbe|mailblocks|sendio)\b", re.IGNORECASE)
_TMDA_CONFIRM = re.compile(r"-confirm-\d+\.\d+\.[0-9a-f]+@", re.IGNORECASE)
_CR_WORDING = re.compile(
    r"challenge[- ]response|verify that you are a (?:real )?(?:human|person)|"
    r"held pending (?:your )?confirmation|protecting myself from (?:receiving )?(?:junk|spam)|"
    r"add you to (?:my|the) (?:list of )?(?:approved|allowed|trusted) senders|"
    r"complete the (?:one-time )?verification process",
    re.IGNORECASE,
)


def auto_reply_prefix(subject: str) -> str | None:
    """The subject after an auto-reply prefix, or None when it has none."""
    match = _PREFIX.match(fold_width(subject))
    return subject[match.end():] if match else None


def is_auto_reply_subject(mail: ParsedMail) -> bool:
    """An auto-reply prefix on a mail that answers something, or that says someone is away."""
    rest = auto_reply_prefix(mail.subject)
    if rest is None:
        return False
    if _SAYS_AWAY.search(rest):
        return True
    answers = bool(mail.in_reply_to or mail.references)
    return answers or strip_prefixes(rest) != rest.strip() or bool(_TAG.match(fold_width(rest)))


def is_challenge_response(mail: ParsedMail) -> bool:
    """A challenge-response robot asking us to confirm we are human."""
    if any(mail.headers.get(name) for name in _CR_HEADERS):
        return True
    if any(_CR_AGENT.search(v) for v in mail.headers.get("x-delivery-agent", ())):
        return True
    if _TMDA_CONFIRM.search(mail.from_addr):
        return True
    # Two of the robots' phrases: one alone may be a person writing about such a filter.
    found = {m.group(0).lower() for m in _CR_WORDING.finditer(mail.body_text[:3000])}
    return len(found) >= 2
