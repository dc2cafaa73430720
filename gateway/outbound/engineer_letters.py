"""What an engineer's reply sends: to the customer, to the engineers' queue, and back to the engineer.

Issue 11: every word an engineer writes goes somewhere visible. An answer (also
under `#waiting`, or with `#split` when it says more than the list) is relayed
to the customer; a `#note` is copied to the engineers' queue, never to the
customer; a reply with commands is confirmed to its engineer, saying what was
applied, which side the incident is now on and what that does to the clock; a
reply that cannot be applied comes back to its engineer with its text, the
error and the commands that were not applied. Plain Letters only (gateway.outbound.letters).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from gateway import codes
from gateway.app import App
from gateway.core import commands as cmd
from gateway.core.model import Decision, IncidentState
from gateway.core.salutation import greets
from gateway.core.sla_model import STATUS, SlaView
from gateway.outbound.letter import INTERNAL, TO_QUEUE, Letter, local_time, thread_of
from gateway.outbound.letters import to_customer
from gateway.outbound.engineer_thread import engineer_subject, notice_files, relayed_files, thread_root
from gateway.outbound.notices import clock_view, escalation_letter, severity_facts
from parsers.model import ParsedMail


def side_of(state: IncidentState) -> dict[str, Any]:
    """What the templates' `_side` paragraph says: the side, and the one command that changes it."""
    if state.status != "open":
        return {"side": state.status, "command": "#reopen" if state.status == "resolved" else ""}
    return {"side": state.side, "command": "#investigating" if state.side == "customer" else "#waiting"}


def for_engineer_reply(app: App, decision: Decision, mail: ParsedMail, now: datetime | None = None) -> list[Letter]:
    """In this order: severity, escalation, the answer (relay, resolution or reopening), note, confirmation.

    Letters carry the clock's facts (issue 14): a severity change gives the new response deadline
    (and, for 1 or 2, the request to phone), an escalation the engineer's reason and the side times."""
    reply, after = decision.engineer, decision.after
    assert reply is not None and after is not None
    letters = []
    view = clock_view(app, after, decision.events, now)
    if reply.severity_change is not None:
        before, level, reason = reply.severity_change
        letters.append(to_customer(after, codes.KIND_SEVERITY, "severity-changed", {
            "before": before, "severity": level, "reason": reason, **severity_facts(app, after, view, reply)}))
    plan = app.plans.get(after.plan)
    if cmd.ESCALATE in reply.commands and plan.engineer_escalation:
        why = next((str(e.data.get("reason") or "") for e in decision.events if e.type == "escalated"), "")
        letter = escalation_letter(app, after, plan, plan.engineer_escalation, view, None,
                                   {"by_engineer": mail.from_addr, "reason": why},
                                   {"by": mail.from_addr, "reason": why}, at=now)
        letters += [letter] if letter is not None else []
    text = reply.relay_text or ""
    files = relayed_files(mail.attachments) if reply.relay_text is not None else ()  # issue 11: files travel
    if reply.resolution is not None:  # §6: the customer is told the reason, with the answer if any
        letters.append(_human(to_customer(after, codes.KIND_RESOLVED, "resolved", {
            "resolution": reply.resolution, "text": text}), bool(text), files))
    elif reply.reopened:
        letters.append(_human(to_customer(after, codes.KIND_REOPENED, "reopened", {
            "reason": reply.reopen_reason, "text": text}), bool(text), files))
    elif reply.relay_text is not None:
        letters.append(_human(to_customer(after, codes.KIND_RELAY, "relay", {
            "text": text, "salutation": not greets(text)}), True, files))
    if reply.relay_text is not None and letters:
        letters += _answer_copy(app, after, mail, letters[-1], reply.relay_text)
    letters += _note(app, decision, mail)
    if reply.commands:
        letters.append(_confirmation(app, decision, mail, view))
    return letters


def _human(letter: Letter, human: bool, files: tuple[Any, ...] = ()) -> Letter:
    """A person's answer is not machine mail: no Auto-Submitted / X-Auto-Response-Suppress (RFC 3834 §5).
    It carries the engineer's files byte for byte (issue 11)."""
    return replace(letter, human=human, attachments=files)


def _answer_copy(app: App, after: IncidentState, mail: ParsedMail, answer: Letter, text: str) -> list[Letter]:
    """Issue 11: the engineers' queue gets a copy of a relayed answer, in the incident's thread.

    So a colleague sees the customer was answered and does not answer again. A
    separate mail (not a Bcc), written through the outbox like every letter; not
    a timeline notice of its own (the relayed answer is the one the clock reads).
    Its footer says which side the answer left the incident on (`side_of`).
    """
    queue = app.settings.engineers.queue_address
    if queue is None:
        return []
    root = thread_root(app, after.number)
    _, files = notice_files(app, after.ref, mail.attachments)
    return [Letter(codes.KIND_ANSWER_COPY, "answer-copy", app.settings.engineers.locale, "utf-8", (queue,),
                   after.number, TO_QUEUE, {
                       "incident": {"ref": after.ref, "subject": after.subject, "severity": after.severity,
                                    "side": after.side, "status": after.status},
                       "thread_subject": engineer_subject(after.ref, after.customer_name, after.subject),
                       "customer": {"name": after.customer_name, "key": after.customer_key},
                       "engineer": mail.from_addr, "to": list(answer.to), "kind": answer.kind, "text": text,
                       "attachments": [dict(f, attached=False) for f in files], **side_of(after),
                   }, root, (root,), logged=False)]


def _note(app: App, decision: Decision, mail: ParsedMail) -> list[Letter]:
    """A `#note` is stored with the incident and copied to the engineers' queue (never to the customer)."""
    reply, after, queue = decision.engineer, decision.after, app.settings.engineers.queue_address
    assert reply is not None and after is not None
    if not reply.note_text or queue is None:
        return []
    return [Letter(codes.KIND_NOTE, "note", app.settings.engineers.locale, "utf-8", (queue,), after.number,
                   TO_QUEUE, {**_about(after), "author": mail.from_addr, "text": reply.note_text,
                              **side_of(after)}, logged=False)]


def _confirmation(app: App, decision: Decision, mail: ParsedMail, view: SlaView | None = None) -> Letter:
    """To the engineer: what the commands did, where the text went, and which side the incident is on.

    A `#status` text is confirmed with the time of the report that will carry it (issue 14)."""
    reply, after = decision.engineer, decision.after
    assert reply is not None and after is not None
    report = next((d.at for d in view.upcoming if d.kind == STATUS), None) if view is not None else None
    plan = app.plan_for(after.plan, after.customer_key)
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    queue = app.settings.engineers.queue_address
    return Letter(codes.KIND_CONFIRM, "confirm", app.settings.engineers.locale, "utf-8", (mail.from_addr,),
                  after.number, INTERNAL, {
                      **_about(after), "applied": list(reply.command_lines),
                      "relayed_to": (after.last_customer_author or after.opened_by) if reply.relay_text else "",
                      "note": bool(reply.note_text), "note_copied": bool(reply.note_text and queue),
                      "ask_reason": reply.severity_without_reason, "reopened": reply.reopened,
                      "status_text": bool(reply.status_text),
                      "status_due": local_time(plan, report) if report is not None else "",
                      **side_of(after)},
                  in_reply_to, references, logged=False)


def for_command_error(app: App, decision: Decision, mail: ParsedMail) -> list[Letter]:
    """Only the engineer hears: the error, the commands not applied, and their own text back.

    Nothing changes and nothing goes to the customer; the letter is titled for
    what happened (a wrong command, or a reply that could not be relayed).
    """
    state = decision.incident
    assert state is not None
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    return [Letter(codes.KIND_COMMAND_ERROR, "command-error", app.settings.engineers.locale, "utf-8",
                   (mail.from_addr,), state.number, INTERNAL,
                   {**_about(state), "errors": list(decision.errors), "not_applied": list(decision.not_applied),
                    "command_used": decision.command_used, "text": decision.text, **side_of(state)},
                   in_reply_to, references, logged=False)]


def _about(state: IncidentState) -> dict[str, Any]:
    return {"incident": {"ref": state.ref, "subject": state.subject, "severity": state.severity,
                         "status": state.status}}
