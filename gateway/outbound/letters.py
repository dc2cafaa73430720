"""Which letters a mail causes: one function per kind of event, each returning plain Letters.

This is the one place that answers "who is told what" when mail arrives (issue 9):
the acknowledgement and the queue notice of a new incident, the notice of a
customer reply and of a customer's escalation, what an engineer's reply sends
(gateway.outbound.engineer_letters: relayed answer, resolution, severity change,
escalation, the engineer's confirmation, a command error), the polite reply to an unknown address, the queue's line about a held engineer
reply. gateway.work.effects only turns the Letters into rows; the SLA clock's
letters are decided in gateway.outbound.notices.
Nothing here reads the clock, the database or the network: the automatic
letters sent lately come in a Ledger, and a letter over a rate limit comes back
marked `not_sent`, which the engineers' notice then states (issue 10 item 9).
"""

from __future__ import annotations

from typing import Any

from gateway import codes
from gateway.app import App
from gateway.core.anomalies import header_anomalies
from gateway.core.authenticity import for_template
from gateway.core.model import AuthVerdict, CustomerRef, Decision, IncidentState, SeverityAssessment, SplitItem
from gateway.core.sla import first_response_due
from gateway.core.tokens import without_engineer_tokens
from gateway.outbound.engineer_thread import engineer_subject, notice_files, thread_root
from gateway.outbound.letter import TO_CUSTOMER, TO_QUEUE, Letter, local_time, thread_of
from gateway.outbound.limits import Ledger
from gateway.outbound.mime import clean_header
from gateway.outbound.notices import assignee_address, clock_view, escalation_letter, severity_facts
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
        letters.append(sent.checked(_ack(app, incident, customer, assessment, decision.contact_name, mail.from_addr,
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
    return [_ack(app, incident, customer, item.assessment, state.contact_name, to, state, "split", state.last_customer_message_id,
                 state.customer_thread),
            *_queue_notice(app, "split", incident, incident.side, incident.status, customer, state.opened_by,
                           item.text, state)]


def for_customer_reply(app: App, decision: Decision, mail: ParsedMail, sent: Ledger) -> list[Letter]:
    """The queue hears of the reply; a customer's `#escalate` goes up the ladder (Kaspersky §3) or is refused."""
    after, asked = decision.after, decision.customer_escalation
    assert after is not None
    kind = codes.KIND_ESCALATE_ACK if asked is None or asked.accepted else codes.KIND_ESCALATE_REFUSED
    answer = None if asked is None or decision.quiet is not None else sent.checked(to_customer(after, kind, "escalate-ack", {
        "accepted": asked.accepted, "rung": asked.rung, "level": asked.level, "levels": asked.levels,
        "reason": asked.reason}))
    letters = _queue_notice(app, "reply", after, after.side, after.status, customer_of(after), mail.from_addr,
                            decision.text, mail=mail, authentication=decision.authentication,
                            quiet=decision.quiet, not_sent=[answer] if answer is not None else [])
    letters += _severity_review(app, decision, sent)
    if asked is None:
        return letters
    if asked.accepted:
        letter = escalation_letter(app, after, app.plans.get(after.plan), asked.rung,
                                   clock_view(app, after, decision.events, sent.now), None,
                                   {"by_customer": True, "level": asked.level,
                                    "words": without_engineer_tokens(decision.text)},
                                   {"level": asked.level, "by": "customer"}, at=sent.now, copy_tam=True)
        letters += [letter] if letter is not None else []
    if answer is not None:
        letters.append(answer)
    return letters


def _severity_review(app: App, decision: Decision, sent: Ledger) -> list[Letter]:
    """Sophos §5.4: the engineers hear of a requested severity review in a letter of its own; the customer
    is told it was received and that support decides (000 §5.2)."""
    review, after = decision.severity_review, decision.after
    if review is None or after is None:
        return []
    recipients = tuple(dict.fromkeys(a for a in (assignee_address(app, after.assignee),
                                                  app.settings.engineers.queue_address) if a))
    letters = [Letter(codes.KIND_SEVERITY_REVIEW, "severity-review", app.settings.engineers.locale, "utf-8",
                      recipients, after.number, TO_QUEUE, {
                          "incident": {"ref": after.ref, "subject": after.subject, "severity": after.severity,
                                       "plan": after.plan},
                          "customer": {"name": after.customer_name, "key": after.customer_key},
                          "asked": review.asked, "direction": review.direction, "author": after.last_customer_author,
                          "text": without_engineer_tokens(decision.text)}, event_data={"asked": review.asked})] if recipients else []
    if decision.quiet is None:
        letters.append(sent.checked(to_customer(after, codes.KIND_SEVERITY_REVIEW_ACK, "severity-review-ack", {
            "asked": review.asked, "direction": review.direction})))
    return letters


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
                      "customer": {"name": state.customer_name}, "contact_name": state.contact_name, **context,
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
