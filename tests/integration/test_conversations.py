"""Whole conversations in process: customer ↔ gateway ↔ engineers, on SQLite and PostgreSQL."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from store.incidents import Incident, IncidentEvent
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml
from tests.support.replies import reply_to

ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"})
    return Pipeline(build_app(settings), sessions, clock)


def mails(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(path) for path in pipeline.sent_files()
            if f"-{kind}-" in path.name or path.name.endswith(f"-{kind}.eml")]


def events(pipeline: Pipeline, number: int = 1, type_: str | None = None) -> list[IncidentEvent]:
    with pipeline.sessions() as session:
        query = select(IncidentEvent).join(Incident).where(Incident.number == number).order_by(IncidentEvent.id)
        return [e for e in session.scalars(query) if type_ is None or e.type == type_]


def incident(pipeline: Pipeline, number: int = 1) -> Incident:
    return next(i for i in pipeline.incidents() if i.number == number)


def opened(pipeline: Pipeline, **kwargs: str) -> tuple[EmailMessage, EmailMessage]:
    """The customer opens an incident; return the ack and the engineers' notification."""
    pipeline.accept(customer_mail(**kwargs), mail_from=kwargs.get("sender", "alice@example.test"))
    pipeline.run_until_idle()
    return mails(pipeline, "ack")[-1], mails(pipeline, "notify")[-1]


def engineer_answers(pipeline: Pipeline, notification: EmailMessage, body: str, style: str = "gmail",
                     sender: str = ENGINEER) -> int:
    raw = reply_to(notification, sender=sender, body=body, style=style)
    to = str(notification["Reply-To"])
    accepted = pipeline.accept(raw, mail_from=sender, rcpt_tos=(to,))
    pipeline.run_until_idle()
    return accepted.inbound_id


def test_engineers_are_notified_of_a_new_incident_with_the_text_and_a_reply_token(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, body="The backup job fails with E42.\n")
    assert notification["To"] == QUEUE
    assert notification["Subject"].startswith("[INC-000001] Demo Corporation ")
    assert "A new incident was opened." in notification.get_content()
    assert "The backup job fails with E42." in notification.get_content()
    assert str(notification["Reply-To"]).startswith("support+INC-000001.")
    assert "Severity:  3" in notification.get_content() and "vendor" in notification.get_content()


def test_ack_carries_the_reply_token_in_reply_to_and_footer(pipeline: Pipeline) -> None:
    ack, _ = opened(pipeline)
    token = str(ack["Reply-To"]).split("+", 1)[1].split("@")[0]
    assert token.startswith("INC-000001.") and token in ack.get_content()


def test_engineer_answer_is_relayed_to_the_customer_without_quotes_and_moves_it_to_the_customer_side(
        pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, message_id="<q1@example.test>")
    engineer_answers(pipeline, notification, "Could you send us the server log?\n\n-- \nYamada\nVendor KK")
    [relay] = mails(pipeline, "relay")
    assert relay["To"] == "alice@example.test"
    body = relay.get_content()
    assert "Could you send us the server log?" in body
    assert "Yamada" not in body and "The customer replied" not in body and "> " not in body
    assert relay["In-Reply-To"] == "<q1@example.test>"
    assert incident(pipeline).side == "customer"
    [side] = events(pipeline, type_="side")
    assert side.data["side"] == "customer" and side.data["by"] == "engineer"


def test_customer_answer_moves_the_incident_back_to_the_vendor_side_and_notifies_engineers(
        pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "Which version do you run?")
    [relay] = mails(pipeline, "relay")
    pipeline.accept(reply_to(relay, sender="alice@example.test", body="Version 10.2."))
    pipeline.run_until_idle()
    assert incident(pipeline).side == "vendor"
    assert [e.data["side"] for e in events(pipeline, type_="side")] == ["customer", "vendor"]
    reply_notice = mails(pipeline, "notify")[-1]
    assert reply_notice["Subject"] == notification["Subject"]  # one thread per incident (issue 11)
    assert "The customer replied." in reply_notice.get_content() and "Version 10.2." in reply_notice.get_content()


def test_out_of_office_in_the_thread_changes_nothing(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "Which version do you run?")
    [relay] = mails(pipeline, "relay")
    sent_before = len(pipeline.sent_files())
    ooo = reply_to(relay, sender="alice@example.test", body="I am out of the office until Monday.",
                   subject="Automatic reply: " + str(relay["Subject"]), headers={"Auto-Submitted": "auto-replied"})
    accepted = pipeline.accept(ooo)
    pipeline.run_until_idle()
    assert pipeline.inbound(accepted.inbound_id).state == codes.IGNORED
    assert incident(pipeline).side == "customer"
    assert len(pipeline.sent_files()) == sent_before


def test_forged_engineer_reply_without_the_token_changes_nothing(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    forged = reply_to(notification, sender=ENGINEER, body="#resolve fixed\nAll done.", style="",
                      to="support@support.example.test")
    accepted = pipeline.accept(forged, mail_from=ENGINEER)
    pipeline.run_until_idle()
    row = pipeline.inbound(accepted.inbound_id)
    assert (row.state, row.reason) == (codes.QUARANTINED, codes.ENGINEER_UNVERIFIED)
    assert (incident(pipeline).status, incident(pipeline).side) == ("open", "vendor")
    assert mails(pipeline, "relay") == [] and mails(pipeline, "resolved") == []


def test_reply_token_from_a_non_engineer_address_is_not_an_engineer_reply(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#resolve fixed", sender="mallory@elsewhere.test")
    assert incident(pipeline).status == "open" and mails(pipeline, "resolved") == []


def test_resolve_tells_the_customer_the_reason_and_a_reply_opens_a_linked_incident(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, sender="carol@acme.test", subject="Backup fails")
    engineer_answers(pipeline, notification, "#resolve fixed\nThe patch 10.2.1 fixes it.")
    [resolved] = mails(pipeline, "resolved")
    assert "has been fixed" in resolved.get_content() and "patch 10.2.1" in resolved.get_content()
    assert (incident(pipeline).status, incident(pipeline).resolution) == ("resolved", "fixed")
    pipeline.accept(reply_to(resolved, sender="carol@acme.test", body="It fails again since yesterday."),
                    mail_from="carol@acme.test")
    pipeline.run_until_idle()
    second = incident(pipeline, 2)
    assert second.linked_to_id == incident(pipeline).id and second.subject == "Backup fails"
    new_ack = mails(pipeline, "ack")[-1]
    assert "INC-000002" in new_ack["Subject"] and "linked to INC-000001" in new_ack.get_content()
    assert incident(pipeline).status == "resolved"  # the old one stays resolved
    from gateway.ops.views import format_incident, show_incident

    shown = format_incident(show_incident(pipeline.sessions, "INC-000002"))  # type: ignore[arg-type]
    assert "follows:  INC-000001" in shown
    assert "resolved: fixed" in format_incident(show_incident(pipeline.sessions, "INC-000001"))  # type: ignore[arg-type]


def test_full_width_japanese_severity_command_changes_severity_and_tells_the_customer(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, sender="carol@acme.test")
    engineer_answers(pipeline, notification, "＃ｓｅｖｅｒｉｔｙ　２　業務が停止しているため\n調査を開始しました。")
    assert incident(pipeline).severity == 2
    [notice] = mails(pipeline, "severity-changed")
    assert notice["To"] == "carol@acme.test" and "業務が停止しているため" in notice.get_content()
    [severity] = events(pipeline, type_="severity")
    assert (severity.data["from"], severity.data["to"]) == (3, 2)


def test_unknown_command_is_explained_to_the_engineer_and_nothing_else_happens(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    before = len(events(pipeline))
    engineer_answers(pipeline, notification, "#severty 2 typo\nPlease restart the service.")
    [error] = mails(pipeline, "command-error")
    assert error["To"] == ENGINEER and "unknown command #severty" in error.get_content()
    assert mails(pipeline, "relay") == []
    assert len(events(pipeline)) == before and incident(pipeline).side == "vendor"


def test_investigating_relays_the_answer_but_keeps_the_vendor_side(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#investigating\nWe are reproducing it in our lab.")
    assert len(mails(pipeline, "relay")) == 1 and incident(pipeline).side == "vendor"


def test_note_is_kept_internal_and_sends_nothing_to_the_customer(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#note\nCustomer runs an unsupported OS.")
    assert mails(pipeline, "relay") == [] and incident(pipeline).side == "vendor"
    assert events(pipeline, type_="note")


def test_waiting_hands_the_incident_to_the_customer_without_relaying(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#waiting")
    assert mails(pipeline, "relay") == [] and incident(pipeline).side == "customer"


def test_assign_and_escalate_are_recorded(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#assign suzuki\n#escalate customer is angry\n#note\nhandover")
    assert incident(pipeline).assignee == "suzuki"
    assert events(pipeline, type_="assigned") and events(pipeline, type_="escalated")


def test_workaround_on_a_kaspersky_level_1_incident_makes_it_level_2(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, sender="carol@acme.test")
    engineer_answers(pipeline, notification, "#severity 1 whole LAN down")
    engineer_answers(pipeline, notification, "#workaround\nDisable the filter driver for now.")
    assert incident(pipeline).severity == 2
    notices = mails(pipeline, "severity-changed")
    assert len(notices) == 2 and "workaround is now available" in notices[-1].get_content()


def test_workaround_on_a_sophos_level_1_incident_keeps_level_1(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#severity 1 total outage")
    engineer_answers(pipeline, notification, "#workaround\nDisable the filter driver for now.")
    assert incident(pipeline).severity == 1


def test_split_opens_one_linked_incident_per_listed_problem(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "#split\n- [2] Backup fails every night\n- How do I export the log?")
    first, second, third = pipeline.incidents()
    assert (second.subject, second.severity, second.linked_to_id) == ("Backup fails every night", 2, first.id)
    assert (third.subject, third.severity) == ("How do I export the log?", 4)
    acks = mails(pipeline, "ack")
    assert len(acks) == 3 and "INC-000001" in acks[1].get_content()
    assert mails(pipeline, "relay") == []


def test_unknown_address_at_a_customer_domain_is_held_and_answered_politely(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(sender="eve@example.test"), mail_from="eve@example.test")
    pipeline.run_until_idle()
    row = pipeline.inbound(accepted.inbound_id)
    assert (row.state, row.reason) == (codes.QUARANTINED, codes.UNKNOWN_CONTACT)
    [held] = mails(pipeline, "held")
    assert held["To"] == "eve@example.test" and "登録" in held.get_content()
    assert pipeline.incidents() == []


def test_held_reply_can_be_switched_off(make_settings, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(build_app(make_settings(gateway={"held_reply": False})), sessions, clock)
    pipeline.accept(customer_mail(sender="eve@example.test"), mail_from="eve@example.test")
    pipeline.run_until_idle()
    assert pipeline.outbox() == []


def test_contact_of_another_customer_cannot_write_into_an_incident_by_its_tag(pipeline: Pipeline) -> None:
    opened(pipeline, subject="Backup fails")
    pipeline.accept(customer_mail(sender="carol@acme.test", subject="[INC-000001] me too"),
                    mail_from="carol@acme.test")
    pipeline.run_until_idle()
    assert len(pipeline.incidents()) == 2 and incident(pipeline, 2).customer_id != incident(pipeline).customer_id


@pytest.mark.parametrize("layer", ["message-id", "address-token", "body-token", "subject-tag"])
def test_a_customer_reply_is_threaded_by_each_layer_on_its_own(pipeline: Pipeline, layer: str) -> None:
    ack, _ = opened(pipeline, subject="Backup fails")
    reference = str(ack["Reply-To"]).split("+", 1)[1].split("@")[0]
    message = EmailMessage()
    message["From"] = "bob@example.test"
    message["To"] = str(ack["Reply-To"]) if layer == "address-token" else "support@support.example.test"
    message["Subject"] = "[INC-000001] more info" if layer == "subject-tag" else "more info"
    if layer == "message-id":
        message["In-Reply-To"] = str(ack["Message-ID"])
    message.set_content(f"Here is more.\n\nRef: {reference}\n" if layer == "body-token" else "Here is more.\n")
    accepted = pipeline.accept(message.as_bytes(), mail_from="bob@example.test",
                               rcpt_tos=(str(message["To"]),))
    pipeline.run_until_idle()
    assert len(pipeline.incidents()) == 1
    assert pipeline.inbound(accepted.inbound_id).reason == codes.CUSTOMER_REPLIED
    assert events(pipeline, type_="message")[-1].data["threaded_by"] == layer


def test_engineer_reply_is_accepted_by_the_body_token_alone(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline)
    raw = reply_to(notification, sender=ENGINEER, body="Please check the log.", style="outlook-en",
                   to="support@support.example.test")
    pipeline.accept(raw, mail_from=ENGINEER, rcpt_tos=("support@support.example.test",))
    pipeline.run_until_idle()
    [relay] = mails(pipeline, "relay")
    assert relay.get_content().startswith("Please check the log.") or "Please check the log." in relay.get_content()
    assert "Original Message" not in relay.get_content()


def test_relay_to_an_iso_2022_jp_customer_is_encoded_for_them(pipeline: Pipeline) -> None:
    ack, notification = opened(pipeline, sender="dan@jis.test", subject="ログインできません")
    engineer_answers(pipeline, notification, "ログ を お送り ください。", style="outlook-ja")
    [path] = [p for p in pipeline.sent_files() if "-relay-" in p.name]
    raw = path.read_bytes()
    assert b'charset="iso-2022-jp"' in raw
    assert "ログ を お送り ください。" in read_eml(path).get_content()


def test_nothing_is_lost_when_the_queue_address_is_not_configured(make_settings, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(build_app(make_settings()), sessions, clock)
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    assert [p.name.split("-")[1] for p in pipeline.sent_files()] == ["ack"]


def test_settings_sync_leaves_contacts_managed_with_the_cli_alone(pipeline: Pipeline) -> None:
    from gateway.work.directory import add_contact, remove_contact, sync_customers

    now = pipeline.clock.now()
    with pipeline.sessions.begin() as session:
        add_contact(session, "demo", "carl@example.test", "Carl", now)
        remove_contact(session, "demo", "bob@example.test")
    with pipeline.sessions.begin() as session:
        sync_customers(session, pipeline.app.settings.customers, now)  # a daemon restart
    pipeline.accept(customer_mail(sender="carl@example.test"), mail_from="carl@example.test")
    bob = pipeline.accept(customer_mail(sender="bob@example.test", subject="other"), mail_from="bob@example.test")
    pipeline.run_until_idle()
    assert [i.opened_by for i in pipeline.incidents()] == ["carl@example.test"]
    assert pipeline.inbound(bob.inbound_id).reason == codes.UNKNOWN_CONTACT


def test_a_reply_decided_on_an_incident_that_changed_meanwhile_is_decided_again(pipeline: Pipeline) -> None:
    from gateway.work.prepare import prepare_all
    from gateway.work.processor import _plan_all, _write

    ack, notification = opened(pipeline)
    engineer_answers(pipeline, notification, "Which version?")
    [relay] = mails(pipeline, "relay")
    accepted = pipeline.accept(reply_to(relay, sender="alice@example.test", body="10.2"))
    now = pipeline.clock.now()
    prepared = prepare_all(pipeline.app, pipeline.sessions, [accepted.inbound_id])
    with pipeline.sessions.begin() as session:  # e.g. an operator or the scheduler changed it
        session.scalar(select(Incident).where(Incident.number == 1)).side = "vendor"  # type: ignore[union-attr]
    with pipeline.sessions.begin() as session:
        states = _write(pipeline.app, session, _plan_all(pipeline.app, pipeline.sessions, prepared, now), now)
    assert states == {} and pipeline.inbound(accepted.inbound_id).state == codes.RECEIVED
    pipeline.run_until_idle()
    assert pipeline.inbound(accepted.inbound_id).reason == codes.CUSTOMER_REPLIED
    assert [e.data["side"] for e in events(pipeline, type_="side")] == ["customer"]  # no side event for no change
