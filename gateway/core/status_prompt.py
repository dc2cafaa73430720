"""When an engineer is asked for the text of the next status report (issue 14). Pure.

support-programs.md §4: status reports go out on the plan's cadence. An
engineer can shape the next one with `#status <text>`, so a while before each
report is due (`[engineers] status_prompt_minutes`) the assigned engineer is
asked for it, once per report: the prompt's key names the report it is for
(`status-prompt:<rung>:<cycle>`, the report's own rung and cycle), and the
notice event that records it carries that key, like every scheduled notice.

The engineer's text goes into the report sent at the due minute when it was
given after the previous report; each text is used once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.sla_model import STATUS, ClockEvent, Due, SlaView

PROMPT = "status-prompt"  # the notice kind and the first part of its key
TEXT_EVENT = "status-text"  # the event an engineer's `#status` records


@dataclass(frozen=True)
class Prompt:
    """One prompt: when it is due and the report it asks a text for."""

    at: datetime
    report: Due

    @property
    def short_key(self) -> str:
        return f"{PROMPT}:{self.report.rung}:{self.report.cycle}"

    def key(self, ref: str) -> str:
        return f"{ref}:{self.short_key}"


def next_prompt(view: SlaView, lead: timedelta) -> Prompt | None:
    """The prompt for the next status report, or None (no report coming, or prompts off)."""
    if lead <= timedelta(0):
        return None
    report = next((d for d in view.upcoming if d.kind == STATUS), None)
    if report is None:
        return None
    return Prompt(report.at - lead, report)


def _done(events: Sequence[ClockEvent]) -> set[str]:
    return {str(e.data["key"]) for e in events if "key" in e.data}


def due_prompt(view: SlaView, events: Sequence[ClockEvent], lead: timedelta) -> Prompt | None:
    """The prompt to send at `view.now`: its time has come, the report has not, and it was not sent."""
    prompt = next_prompt(view, lead)
    if prompt is None or prompt.at > view.now or prompt.short_key in _done(events):
        return None
    return prompt


def prompt_wake(view: SlaView, events: Sequence[ClockEvent], lead: timedelta) -> datetime | None:
    """When the scheduler must wake for the next prompt (None: none pending)."""
    prompt = next_prompt(view, lead)
    if prompt is None or prompt.short_key in _done(events):
        return None
    return max(prompt.at, view.now)


def earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def report_text(events: Sequence[ClockEvent]) -> tuple[str, str]:
    """(text, author) of the latest `#status` given since the previous status report, else ("", "")."""
    found = ("", "")
    for event in events:
        if event.type == "notice" and event.data.get("kind") == STATUS:
            found = ("", "")  # a report went out: earlier texts are used
        elif event.type == TEXT_EVENT:
            found = (str(event.data.get("text") or ""), str(event.data.get("by") or ""))
    return found
