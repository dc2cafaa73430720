"""The prompt for a status report's text: one short letter in the incident's engineers' thread (issue 14).

A while before each status report is due (gateway.core.status_prompt), the
assigned engineer (else the engineers' queue) reads "status report to <customer>
due at HH:MM; reply with #status <text> to write it". It is threaded under the
incident's first engineer notice (RFC 5322 §3.6.4 In-Reply-To / References, the
`thread_root`) with the engineers' subject, so it sits beside the notices the
engineer already has; replying to it carries the engineer token like every
vendor-side letter (gateway.outbound.audience). Keyed by the report it asks for,
so it is sent once. Pure: the scheduler writes the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway import codes
from gateway.app import App
from gateway.core.model import IncidentState
from gateway.core.plan import Plan
from gateway.core.sla_model import ClockEvent, SlaView
from gateway.core.status_prompt import PROMPT, Prompt, due_prompt, prompt_wake
from gateway.outbound.engineer_thread import engineer_subject, thread_root
from gateway.outbound.letter import INTERNAL, Letter, local_time
from gateway.outbound.notices import assignee_address


def prompt_lead(app: App) -> timedelta:
    """`[engineers] status_prompt_minutes` as a duration (0: no prompts)."""
    return timedelta(minutes=app.settings.engineers.status_prompt_minutes)


def prompt_letter(app: App, state: IncidentState, plan: Plan, prompt: Prompt, ref: str) -> Letter | None:
    """The prompt to the assigned engineer, else the queue; None when there is nobody to ask."""
    owner = assignee_address(app, state.assignee) or app.settings.engineers.queue_address
    if owner is None:
        return None
    root = thread_root(app, state.number)
    return Letter(codes.KIND_STATUS_PROMPT, PROMPT, app.settings.engineers.locale, "utf-8", (owner,),
                  state.number, INTERNAL, {
                      "incident": {"ref": state.ref, "subject": state.subject, "severity": state.severity,
                                   "side": state.side, "status": state.status},
                      "thread_subject": engineer_subject(state.ref, state.customer_name, state.subject),
                      "customer": {"name": state.customer_name, "key": state.customer_key},
                      "due": local_time(plan, prompt.report.at), "assignee": state.assignee or "",
                  }, root, (root,), dedupe_key=prompt.key(ref),
                  event_data={"key": prompt.short_key, "report_due": prompt.report.at.isoformat()})


def due_prompt_letter(app: App, state: IncidentState, plan: Plan, view: SlaView,
                      events: Sequence[ClockEvent]) -> Letter | None:
    """The prompt due at `view.now` (None: none due, or nobody to ask)."""
    prompt = due_prompt(view, events, prompt_lead(app))
    return prompt_letter(app, state, plan, prompt, state.ref) if prompt is not None else None


def prompt_wake_at(app: App, assignee: str | None, view: SlaView, events: Sequence[ClockEvent]) -> datetime | None:
    """When the scheduler must wake to send the next prompt; None when there is none or nobody to ask
    (so an incident with no queue and no assignee does not wake the scheduler for nothing)."""
    if (assignee_address(app, assignee) or app.settings.engineers.queue_address) is None:
        return None
    return prompt_wake(view, events, prompt_lead(app))
