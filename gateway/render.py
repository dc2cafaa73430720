"""Jinja2 templates → subject and body text, by purpose and the customer's locale.

A template is `templates/<locale>/<purpose>.txt.j2` with two blocks, `subject`
and `body`. Undefined variables are errors, so a typo in a template fails the
tests instead of sending a blank to a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gateway.core.plan import BUSINESS, Target

SEVERITY_LABELS = {
    "en": {1: "Critical", 2: "High", 3: "Medium", 4: "Low"},
    "ja": {1: "緊急", 2: "高", 3: "中", 4: "低"},
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def describe_target(target: Target, locale: str) -> str:
    """'4 business hours' / '4営業時間', '30 minutes' / '30分' — as the plan states it."""
    d = target.within
    business = target.clock == BUSINESS
    if locale == "ja":
        parts = [f"{d.months}か月" if d.months else "", f"{d.days}{'営業日' if business else '日'}" if d.days else ""]
        hours = f"{d.hours}{'営業時間' if business and not d.minutes else '時間'}" if d.hours else ""
        minutes = f"{d.minutes}分" if d.minutes else ""
        text = "".join(parts) + hours + minutes
        if business and d.minutes:
            text += "（営業時間）"
        return text or "0分"
    words = []
    for value, unit in ((d.months, "month"), (d.days, "day"), (d.hours, "hour"), (d.minutes, "minute")):
        if value:
            words.append(f"{value} {'business ' if business else ''}{unit}{'s' if value != 1 else ''}")
    return " ".join(words) or "0 minutes"


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.environment = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text mail, not HTML
            keep_trailing_newline=True,
            # Templates are read once: the stock environment stats every file on every
            # render (~3% of the work process's time per mail); a deploy restarts the daemon.
            auto_reload=False,
        )

    def render(self, purpose: str, locale: str, **context: Any) -> Rendered:
        template = self.environment.get_template(f"{locale}/{purpose}.txt.j2")
        labels = SEVERITY_LABELS.get(locale, SEVERITY_LABELS["en"])
        env_context = template.new_context(
            {**context, "locale": locale, "severity_label": lambda level: labels.get(level, str(level))}
        )
        subject = "".join(template.blocks["subject"](env_context)).strip()
        body = "".join(template.blocks["body"](env_context))
        return Rendered(subject=subject, body=body.lstrip("\n"))
