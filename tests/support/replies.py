"""Replies as real mail clients write them: to one of our mails, quoting it in each client's format.

The formats are rebuilt from what each client documents or visibly does:
Outlook (en/ja) top-posts above a header block, Gmail/Thunderbird/Apple Mail
quote with "> " under an attribution line, mutt users answer below the quote.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

QUOTED = {
    "outlook-en": "{reply}\n\n-----Original Message-----\nFrom: {sender_name} <{sender}>\nSent: Tuesday, November 24, 2026 10:00 AM\nTo: {me}\nSubject: {subject}\n\n{original}\n",
    "outlook-new-en": "{reply}\n\n________________________________\nFrom: {sender_name} <{sender}>\nSent: Tuesday, November 24, 2026 10:00\nTo: {me}\nSubject: {subject}\n\n{original}\n",
    "outlook-ja": "{reply}\n\n-----Original Message-----\n差出人: {sender_name} <{sender}>\n送信日時: 2026年11月24日 10:00\n宛先: {me}\n件名: {subject}\n\n{original}\n",
    "outlook-ja-fullwidth": "{reply}\n\n差出人： {sender_name} <{sender}>\n送信日時： 2026年11月24日 10:00\n宛先： {me}\n件名： {subject}\n\n{original}\n",
    "gmail": "{reply}\n\nOn Tue, Nov 24, 2026 at 10:00 AM {sender_name} <{sender}> wrote:\n\n{quoted}\n",
    "gmail-wrapped": "{reply}\n\nOn Tue, Nov 24, 2026 at 10:00 AM {sender_name} <\n{sender}> wrote:\n\n{quoted}\n",
    "gmail-ja": "{reply}\n\n2026年11月24日(火) 10:00 {sender_name} <{sender}>:\n\n{quoted}\n",
    "thunderbird": "{reply}\n\nOn 11/24/26 10:00, {sender_name} wrote:\n{quoted}\n",
    "apple-mail": "{reply}\n\n> On Nov 24, 2026, at 10:00, {sender_name} <{sender}> wrote:\n> \n{quoted}\n",
    "apple-mail-ja": "{reply}\n\n2026/11/24 10:00、{sender_name} <{sender}>のメール:\n\n{quoted}\n",
    "mutt": "On Tue, Nov 24, 2026 at 10:00:00AM +0900, {sender_name} wrote:\n{quoted}\n\n{reply}\n",
}


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.rstrip("\n").split("\n"))


def reply_body(style: str, reply: str, original: EmailMessage | str, me: str = "me@example.test") -> str:
    if isinstance(original, str):
        text, sender_name, sender, subject = original, "Support", "support@support.example.test", "Question"
    else:
        text = original.get_content()
        sender_name, sender = parseaddr(str(original["From"]))
        subject = str(original["Subject"])
    return QUOTED[style].format(reply=reply, sender_name=sender_name or sender, sender=sender, me=me,
                                subject=subject, original=text.rstrip("\n"), quoted=quote(text))


def reply_to(original: EmailMessage, *, sender: str, body: str, style: str = "gmail",
             to: str | None = None, headers: dict[str, str] | None = None,
             subject: str | None = None, keep_threading: bool = True) -> bytes:
    """A reply to `original` by `sender`, addressed to its Reply-To, quoting it in `style`."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to or str(original["Reply-To"] or original["From"])
    message["Subject"] = subject if subject is not None else f"Re: {original['Subject']}"
    message["Date"] = format_datetime(datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    if keep_threading:
        message["In-Reply-To"] = str(original["Message-ID"])
        message["References"] = " ".join(filter(None, [str(original.get("References", "") or ""),
                                                       str(original["Message-ID"])])).strip()
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(reply_body(style, body, original, sender) if style else body)
    return message.as_bytes(policy=policy.SMTP)
