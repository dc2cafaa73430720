"""Whose move it is: side and status transitions of an incident, with their events. Pure.

support-programs.md §2: an incident is on the vendor side or the customer side.
A new incident is the vendor's; an engineer's answer relayed to the customer
hands it to the customer (unless the engineer says `#investigating`; `#waiting`
says so explicitly, and its text is relayed like any answer, issue 11); a human
customer message hands it back. `#reopen` brings a resolved incident back to
the vendor side, where its clock resumes (gateway.core.sla). Automatic mail never gets here (decide ignores
it first), so an out-of-office reply can never move the side. Every change is
an Event (type "side") the SLA clocks are built on.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.core import commands as cmd
from gateway.core.commands import ParsedReply
from gateway.core.model import (
    CUSTOMER_SIDE,
    OPEN,
    RESOLVED,
    VENDOR_SIDE,
    EngineerReply,
    Event,
    IncidentState,
    SplitItem,
)

WORKAROUND_REASON = "@workaround"  # templates explain it in the customer's language
WORKAROUND_SEVERITY = 2  # seeds/002 appendix 1: a level-1 incident with a workaround is level 2


def move_side(state: IncidentState, side: str, by: str) -> tuple[IncidentState, tuple[Event, ...]]:
    """The state on `side`, and a "side" event if that is a change."""
    if state.side == side:
        return state, ()
    return replace(state, side=side), (Event("side", {"side": side, "from": state.side, "by": by}),)


def customer_message(state: IncidentState, author: str, message_id: str | None,
                     layer: str) -> tuple[IncidentState, tuple[Event, ...]]:
    """A human message of the customer: recorded, and the incident is ours again."""
    thread = (*state.customer_thread, message_id) if message_id else state.customer_thread
    state = replace(state, last_customer_author=author, customer_thread=thread,
                    last_customer_message_id=message_id or state.last_customer_message_id)
    after, events = move_side(state, VENDOR_SIDE, "customer")
    return after, (Event("message", {"from": "customer", "author": author, "threaded_by": layer}), *events)


def engineer_reply(state: IncidentState, reply: ParsedReply, author: str, layer: str, *,
                   workaround_downgrades: bool, splits: tuple[SplitItem, ...] = (), attachments: int = 0
                   ) -> tuple[IncidentState, tuple[Event, ...], EngineerReply]:
    """Apply an engineer's commands and text (already checked for errors) to an incident.

    Files are an answer too (issue 11): a reply of attachments only is relayed, with an empty text.
    """
    events: list[Event] = [Event("message", {"from": "engineer", "author": author, "threaded_by": layer,
                                             "commands": [c.name for c in reply.commands]})]
    after, severity_change = _severity(state, reply, events, workaround_downgrades)
    if (assign := reply.get(cmd.ASSIGN)) is not None and assign.argument != after.assignee:
        after = replace(after, assignee=assign.argument)
        events.append(Event("assigned", {"to": assign.argument, "by": author}))
    if reply.has(cmd.ESCALATE):
        events.append(Event("escalated", {"by": author, "reason": reply.get(cmd.ESCALATE).reason}))  # type: ignore[union-attr]
    relay_text = reply.text if _relays(reply, attachments) else None
    note_text = reply.text.strip() if reply.has(cmd.NOTE) else ""
    if reply.has(cmd.NOTE):
        events.append(Event("note", {"by": author, "text": note_text[:4000]}))
    status_text = status_text_of(reply)
    if status_text:  # issue 14: the next status report carries it; the side does not change
        events.append(Event("status-text", {"by": author, "text": status_text}))
    resolution, reopen = None, reply.get(cmd.REOPEN)
    if (resolve := reply.get(cmd.RESOLVE)) is not None:
        resolution = resolve.argument
        after = replace(after, status=RESOLVED)
        events.append(Event("status", {"status": RESOLVED, "resolution": resolution, "by": author}))
    elif reopen is not None:
        after = replace(after, status=OPEN)
        events.append(Event("status", {"status": OPEN, "reopened": True, "reason": reopen.reason, "by": author}))
        after, moved = move_side(after, VENDOR_SIDE, "engineer")
        events.extend(moved)
    elif reply.has(cmd.INVESTIGATING):
        after, moved = move_side(after, VENDOR_SIDE, "engineer")
        events.extend(moved)
    elif reply.has(cmd.WAITING) or relay_text is not None:
        after, moved = move_side(after, CUSTOMER_SIDE, "engineer")
        events.extend(moved)
    if splits:
        events.append(Event("split", {"items": len(splits), "by": author}))
    severity = reply.get(cmd.SEVERITY)
    outcome = EngineerReply(
        relay_text=relay_text,
        internal_text=reply.text if relay_text is None else "",
        severity_change=severity_change,
        resolution=resolution,
        splits=splits,
        commands=tuple(c.name for c in reply.commands),
        command_lines=tuple(c.line for c in reply.commands),
        note_text=note_text,
        reopened=reopen is not None,
        reopen_reason=reopen.reason if reopen is not None else "",
        severity_without_reason=severity is not None and not severity.reason,
        status_text=status_text,
    )
    return after, tuple(events), outcome


STATUS_TEXT_LIMIT = 4000  # characters: a paragraph of a status report, not a log file


def status_text_of(reply: ParsedReply) -> str:
    """A `#status` text: the rest of the command line and the lines that follow it (like a #note's)."""
    command = reply.get(cmd.STATUS)
    if command is None:
        return ""
    return "\n".join(part for part in (command.reason.strip(), reply.text.strip()) if part)[:STATUS_TEXT_LIMIT]


def _relays(reply: ParsedReply, attachments: int = 0) -> bool:
    """Whether the reply's text (and files) go to the customer: any but a #note's (issue 11).

    `#waiting` + a question relays the question (the customer must see what we
    asked); `#split` relays its text when it says more than the list of problems;
    a reply of files only is relayed with an empty text.
    """
    if reply.has(cmd.NOTE) or reply.has(cmd.STATUS):  # issue 14: a #status text waits for the report
        return False
    if not reply.text.strip():
        return attachments > 0 and not reply.has(cmd.SPLIT)
    return not reply.has(cmd.SPLIT) or cmd.has_text_beyond_items(reply.text)


def _severity(state: IncidentState, reply: ParsedReply, events: list[Event],
              workaround_downgrades: bool) -> tuple[IncidentState, tuple[int, int, str] | None]:
    level, reason = state.severity, ""
    if (command := reply.get(cmd.SEVERITY)) is not None:
        level, reason = int(command.argument), command.reason
    if reply.has(cmd.WORKAROUND):
        events.append(Event("workaround", {"reason": reply.get(cmd.WORKAROUND).reason}))  # type: ignore[union-attr]
        if workaround_downgrades and level == 1:
            level = WORKAROUND_SEVERITY
            reason = reason or WORKAROUND_REASON
    if level == state.severity:
        return state, None
    events.append(Event("severity", {"from": state.severity, "to": level, "reason": reason, "by": "engineer"}))
    return replace(state, severity=level), (state.severity, level, reason)
