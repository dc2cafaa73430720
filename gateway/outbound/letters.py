"""Which letters a mail causes: one function per kind of event, each returning plain Letters.

This is the one place that answers "who is told what" when mail arrives (issue 9):
the acknowledgement and the queue notice of a new incident, the notice of a
customer reply and of a customer's escalation, what an engineer's reply sends
(relayed answer, resolution, severity change, escalation), a command error, the
polite reply to an unknown address, the queue's line about a held engineer
reply. gateway.work.effects only turns the Letters into rows; the SLA clock's
letters are decided in gateway.outbound.notices.
Nothing here reads the clock, the database or the network: the automatic
letters sent lately come in a Ledger, and a letter over a rate limit comes back
marked `not_sent`, which the engineers' notice then states (issue 10 item 9).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway import codes
from gateway.app import App
from gateway.core import commands as cmd
from gateway.core.anomalies import header_anomalies
from gateway.core.authenticity import for_template
from gateway.core.model import AuthVerdict, CustomerRef, Decision, IncidentState, SeverityAssessment, SplitItem
from gateway.core.sla import first_response_due
from gateway.outbound.engineer_thread import engineer_subject, notice_files, relayed_files, thread_root
from gateway.outbound.letter import INTERNAL, TO_CUSTOMER, TO_QUEUE, Letter, local_time, thread_of
from gateway.outbound.limits import Ledger
from gateway.outbound.mime import clean_header
from gateway.outbound.notices import escalation_letter
from gateway.render import describe_target
from parsers.model import ParsedMail
from store.rows import NewIncident


def for_held_mail(app: App, decision: Decision, mail: ParsedMail, sent: Ledger) -> list[Letter]:
    """An unknown address of a customer's domain: told who may open incidents (`held_reply`).

    Limited per recipient and per domain per day: forged senders at a customer's
    domain must not turn the gateway into a source of backscatter.
    """
    customer = decision.customer
    if not decision.held_reply or customer is None:
        return []
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    return [sent.checked(Letter(
        codes.KIND_HELD, "held", customer.locale, customer.charset, (mail.from_addr,), None, TO_CUSTOMER,
        {"customer": {"name": customer.name}, "subject": clean_header(mail.subject, 200),
         "contact_name": mail.from_name}, in_reply_to, references))]


def for_new_incident(app: App, decision: Decision, mail: ParsedMail, incident: NewIncident,
                     sent: Ledger) -> list[Letter]:
    """The acknowledgement to the writer and a notice to the engineers' queue (a recurrence says so).

    The notice always goes (each mail is one a person wrote and opened an
    incident); over a rate limit it says that no acknowledgement was sent.
    """
    customer, assessment, linked = decision.customer, decision.assessment, decision.linked_to
    assert customer is not None and assessment is not None
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    why = "recurrence"
    letters = []
    if decision.quiet is None:  # list, bulk or accepted automatic mail is never answered (RFC 3834 §2)
        letters.append(sent.checked(_ack(app, incident, customer, assessment, mail.from_name, mail.from_addr,
                                         linked, why, in_reply_to, references)))
    return [*letters, *_queue_notice(app, "recurrence" if linked else "new", incident, incident.side,
                                     incident.status, customer, mail.from_addr, decision.text, linked, mail,
                                     decision.authentication, quiet=decision.quiet, not_sent=letters)]


def for_bounce(app: App, decision: Decision) -> list[Letter]:
    """Issue 13: the engineers' queue hears that a letter of ours bounced, and whether mail to the address stops."""
    state, bounce, queue = decision.incident, decision.bounce, app.settings.engineers.queue_address
    assert state is not None and bounce is not None
    if queue is None:
        return []
    return [Letter(codes.KIND_BOUNCED, "bounced", app.settings.engineers.locale, "utf-8", (queue,), state.number,
                   TO_QUEUE, {
                       "incident": {"ref": state.ref, "subject": state.subject, "severity": state.severity,
                                    "side": state.side, "status": state.status, "plan": state.plan},
                       "customer": {"name": state.customer_name, "key": state.customer_key},
                       "kind": bounce.kind, "message_id": decision.bounced_message_id,
                       "recipients": [{"address": r.address, "status": r.status or "", "hard": r.hard,
                                       "diagnostic": clean_header(r.diagnostic or "", 300)} for r in bounce.recipients],
                       "suppressed": list(decision.suppress), "limit": app.policy.hard_bounce_limit,
                   }, decision.bounced_message_id or thread_root(app, state.number),  # References: the
                   tuple(filter(None, (thread_root(app, state.number), decision.bounced_message_id))))]  # thread


def for_split_incident(app: App, decision: Decision, item: SplitItem, incident: NewIncident) -> list[Letter]:
    """support-programs.md §1 (000 §5.3): a problem split off by `#split` is acknowledged as its own."""
    state = decision.incident
    assert state is not None
    customer = customer_of(state)
    to = state.last_customer_author or state.opened_by
    return [_ack(app, incident, customer, item.assessment, "", to, state, "split", state.last_customer_message_id,
                 state.customer_thread),
            *_queue_notice(app, "split", incident, incident.side, incident.status, customer, state.opened_by,
                           item.text, state)]


def for_customer_reply(app: App, decision: Decision, mail: ParsedMail, sent: Ledger) -> list[Letter]:
    """The queue hears of the reply; a customer's `#escalate` goes up the ladder (Kaspersky §3) or is refused."""
    after, asked = decision.after, decision.customer_escalation
    assert after is not None
    answer = None if asked is None or decision.quiet is not None else sent.checked(to_customer(after, codes.KIND_ESCALATE_ACK, "escalate-ack", {
        "accepted": asked.accepted, "rung": asked.rung, "level": asked.level, "levels": asked.levels,
        "reason": asked.reason}))
    letters = _queue_notice(app, "reply", after, after.side, after.status, customer_of(after), mail.from_addr,
                            decision.text, mail=mail, authentication=decision.authentication,
                            quiet=decision.quiet, not_sent=[answer] if answer is not None else [])
    if asked is None:
        return letters
    if asked.accepted:
        letter = escalation_letter(app, after, app.plans.get(after.plan), asked.rung, None, None,
                                   {"by_customer": True, "level": asked.level},
                                   {"level": asked.level, "by": "customer"})
        letters += [letter] if letter is not None else []
    if answer is not None:
        letters.append(answer)
    return letters


def for_engineer_reply(app: App, decision: Decision, mail: ParsedMail) -> list[Letter]:
    """What an engineer's commands and answer send, in this order: severity, escalation, answer."""
    reply, after = decision.engineer, decision.after
    assert reply is not None and after is not None
    letters = []
    if reply.severity_change is not None:
        before, level, reason = reply.severity_change
        letters.append(to_customer(after, codes.KIND_SEVERITY, "severity-changed", {
            "before": before, "severity": level, "reason": reason}))
    plan = app.plans.get(after.plan)
    if cmd.ESCALATE in reply.commands and plan.engineer_escalation:
        letter = escalation_letter(app, after, plan, plan.engineer_escalation, None, None,
                                   {"by_engineer": mail.from_addr}, {"by": mail.from_addr})
        letters += [letter] if letter is not None else []
    files = relayed_files(mail.attachments) if reply.relay_text is not None else ()
    if reply.resolution is not None:  # §6: the customer is told the reason, with the answer if any
        letters.append(replace(to_customer(after, codes.KIND_RESOLVED, "resolved", {
            "resolution": reply.resolution, "text": reply.relay_text or ""}), attachments=files))
    elif reply.relay_text is not None:
        letters.append(replace(to_customer(after, codes.KIND_RELAY, "relay", {"text": reply.relay_text}),
                               attachments=files))
    if reply.relay_text is not None:
        letters += _answer_copy(app, after, mail, letters[-1], reply.relay_text)
    return letters


def _answer_copy(app: App, after: IncidentState, mail: ParsedMail, answer: Letter, text: str) -> list[Letter]:
    """Issue 11: the engineers' queue gets a copy of a relayed answer, in the incident's thread.

    So a colleague sees the customer was answered and does not answer again. A
    separate mail (not a Bcc), written through the outbox like every letter; not
    a timeline notice of its own (the relayed answer is the one the clock reads).
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
                       "attachments": [dict(f, attached=False) for f in files],
                   }, root, (root,), logged=False)]


def for_command_error(app: App, decision: Decision, mail: ParsedMail) -> list[Letter]:
    """Only the engineer hears of a wrong command: no state, nothing to the customer, not on the timeline."""
    state = decision.incident
    assert state is not None
    in_reply_to, references = thread_of(mail.message_id, mail.references)
    return [Letter(codes.KIND_COMMAND_ERROR, "command-error", app.settings.engineers.locale, "utf-8",
                   (mail.from_addr,), state.number, INTERNAL,
                   {"incident": {"ref": state.ref, "subject": state.subject}, "errors": list(decision.errors)},
                   in_reply_to, references, logged=False)]


def for_held_engineer_reply(app: App, decision: Decision, mail: ParsedMail, inbound_id: int) -> list[Letter]:
    """One line to the engineers' queue: a reply from an engineer's address that tried to act was held.

    Never a word to the sender (issue 10): its From may be forged, and a reply
    would tell a forger what to try next, or land on the real engineer as
    backscatter. The line carries no token (it is about no incident's thread).
    """
    queue = app.settings.engineers.queue_address
    if not decision.queue_line or queue is None:
        return []
    claimed = decision.incident
    return [Letter(codes.KIND_ENGINEER_HELD, "engineer-held", app.settings.engineers.locale, "utf-8", (queue,), None,
                   TO_QUEUE, {"author": mail.from_addr, "why": decision.detail, "inbound_id": inbound_id,
                              "incident": {"ref": claimed.ref, "subject": claimed.subject} if claimed else None})]


def to_customer(state: IncidentState, kind: str, purpose: str, context: dict[str, Any]) -> Letter:
    """A letter to the customer's last writer, threaded to the customer's own mail."""
    thread = state.customer_thread
    return Letter(kind, purpose, state.locale, state.charset, (state.last_customer_author or state.opened_by,),
                  state.number, TO_CUSTOMER, {
                      "incident": {"ref": state.ref, "subject": state.subject, "severity": state.severity},
                      "customer": {"name": state.customer_name}, **context,
                  }, state.last_customer_message_id or (thread[-1] if thread else None), thread,
                  customer_key=state.customer_key)


def customer_of(state: IncidentState) -> CustomerRef:
    return CustomerRef(state.customer_id, state.customer_key, state.customer_name, state.plan, state.locale,
                       state.charset)


def _ack(app: App, incident: NewIncident, customer: CustomerRef, assessment: SeverityAssessment,
         contact_name: str, to: str, linked: IncidentState | None, why: str, in_reply_to: str | None,
         references: tuple[str, ...]) -> Letter:
    plan = app.plans.get(customer.plan)
    return Letter(codes.KIND_ACK, "ack", customer.locale, customer.charset, (to,), incident.number, TO_CUSTOMER, {
        "incident": {"ref": incident.ref, "subject": incident.subject, "severity": incident.severity,
                     "requested_severity": incident.requested_severity},
        "customer": {"name": customer.name, "key": customer.key},
        "contact_name": contact_name,
        "plan": {"name": plan.name, "title": plan.title},
        "response_target": describe_target(plan.terms(incident.severity).response, customer.locale),
        # The real deadline on the plan's calendar (issue 5): nights, weekends, holidays skipped.
        "response_due": local_time(plan, first_response_due(app.plan_for(plan.name, customer.key),
                                                            incident.severity, incident.opened_at)),
        "ask_phone": assessment.ask_phone,
        "phone": app.settings.gateway.phone,
        "linked": {"ref": linked.ref, "why": why} if linked else None,
    }, in_reply_to, references, dedupe_key=f"{incident.ref}:ack", customer_key=customer.key)


def _queue_notice(app: App, what: str, incident: NewIncident | IncidentState, side: str, status: str,
                  customer: CustomerRef, author: str, text: str,
                  linked: IncidentState | None = None, mail: ParsedMail | None = None,
                  authentication: AuthVerdict | None = None, quiet: str | None = None,
                  not_sent: list[Letter] | tuple[Letter, ...] = ()) -> list[Letter]:
    """Tell the engineers' queue (if one is configured) of a new incident, a reply, a recurrence, a split.

    The contact's mail's header anomalies (gateway.core.anomalies) are shown:
    the mail is not refused for them, but its author may not be its From. With
    `[authentication]`, the notice says whether its sender is proven (issue 10).
    Never rate limited (the queue is the vendor's own address); `not_sent`
    letters the limits held back are listed in it, with the limit; `quiet` says
    why no acknowledgement went at all (list or automatic mail, issue 13).
    """
    queue = app.settings.engineers.queue_address
    if queue is None:
        return []
    anomalies = header_anomalies(mail, contact=True) if mail is not None else ()
    locale = app.settings.engineers.locale
    held_back = [{"kind": letter.kind, "rule": letter.not_sent.rule(locale)}
                 for letter in not_sent if letter.not_sent is not None]
    ref, root = f"INC-{incident.number:06d}", thread_root(app, incident.number)
    attached, files = notice_files(app, ref, mail.attachments if mail is not None else ())
    first = what in ("new", "recurrence", "split")  # the notice that opens the incident's thread
    return [Letter(codes.KIND_NOTIFY, "notify", locale, "utf-8", (queue,), incident.number,
                   TO_QUEUE, {
                       "what": what,
                       "incident": {"ref": ref, "subject": incident.subject,
                                    "severity": incident.severity, "side": side, "status": status,
                                    "plan": incident.plan,
                                    "requested_severity": incident.requested_severity,
                                    "cues": [c.get("matched", "") for c in incident.cues
                                             if c.get("kind") == "requested-severity"],
                                    "response_due": _response_due(app, incident, customer)},
                       "thread_subject": engineer_subject(ref, customer.name, incident.subject),
                       "customer": {"name": customer.name, "key": customer.key},
                       "author": author,
                       "text": text,
                       "attachments": files,
                       "linked": linked.ref if linked else None,
                       "authentication": for_template(authentication),
                       "anomalies": list(anomalies),
                       "sender": mail.sender_addr if mail is not None else "",
                       "not_sent": held_back,
                       "quiet": quiet,  # why no acknowledgement went to the customer (list/automatic mail)
                   }, None if first else root, () if first else (root,), attachments=attached,
                   message_id=root if first else None)]


def _response_due(app: App, incident: NewIncident | IncidentState, customer: CustomerRef) -> str:
    """The plan's first-response deadline in the plan's local time (issue 11: the notice shows it)."""
    if incident.opened_at is None:
        return "-"
    plan = app.plans.get(incident.plan)
    return local_time(plan, first_response_due(app.plan_for(plan.name, customer.key), incident.severity,
                                               incident.opened_at))
