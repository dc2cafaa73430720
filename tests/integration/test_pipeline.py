"""Accepted mail → incident → acknowledgement in the outbox → .eml in the folder, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway import codes
from gateway.app import App
from gateway.clock import FixedClock
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml


@pytest.fixture
def pipeline(app: App, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(app, sessions, clock)


def test_customer_mail_opens_incident_one_at_severity_3_on_the_vendor_side(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    [incident] = pipeline.incidents()
    assert incident.ref == "INC-000001"
    assert (incident.severity, incident.requested_severity) == (3, None)
    assert (incident.status, incident.side, incident.plan) == ("open", "vendor", "enhanced")
    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason, inbound.incident_id) == (codes.PROCESSED, codes.INCIDENT_OPENED, incident.id)


def test_acknowledgement_reaches_the_outgoing_folder_threaded_and_marked_automatic(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(message_id="<q1@example.test>", subject="Server stops"))
    pipeline.run_until_idle()
    [path] = pipeline.sent_files()
    ack = read_eml(path)
    assert ack["To"] == "alice@example.test"
    assert ack["Subject"].startswith("[INC-000001]")
    assert ack["In-Reply-To"] == "<q1@example.test>"
    assert "<q1@example.test>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Support-Gateway-Loop"] == "test-gateway"
    assert ack["Message-ID"].startswith("<gw.") and ack["Message-ID"].endswith("@support.example.test>")
    [row] = pipeline.outbox()
    assert (row.state, row.kind) == (codes.OUT_SENT, codes.KIND_ACK)


def test_japanese_customer_gets_a_japanese_ack_with_the_plans_response_target(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(subject="サーバが停止します", body="毎晩サーバが停止します。\n"))
    pipeline.run_until_idle()
    ack = read_eml(pipeline.sent_files()[0])
    body = ack.get_content()
    assert "受付のお知らせ" in ack["Subject"] and "サーバが停止します" in ack["Subject"]
    assert "INC-000001" in body
    assert "24営業時間" in body  # enhanced, severity 3 (seeds/000 §6.2)


def test_english_customer_gets_an_english_ack_with_business_hours_target(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(sender="carol@acme.test"), mail_from="carol@acme.test")
    pipeline.run_until_idle()
    body = read_eml(pipeline.sent_files()[0]).get_content()
    assert "registered as incident INC-000001" in body
    assert "6 business hours" in body  # msa-enterprise severity 3 (seeds/002 §3)


def test_how_to_question_opens_at_severity_4(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(subject="How do I export the audit log?",
                                  body="How do I export the audit log to CSV?\n"))
    pipeline.run_until_idle()
    [incident] = pipeline.incidents()
    assert incident.severity == 4
    assert any(cue["kind"] == "severity-4" for cue in incident.cues)


def test_requested_severity_1_is_recorded_not_trusted_and_the_ack_asks_for_a_phone_call(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(sender="carol@acme.test", subject="[Sev1] All endpoints offline"),
                    mail_from="carol@acme.test")
    pipeline.run_until_idle()
    [incident] = pipeline.incidents()
    assert (incident.severity, incident.requested_severity) == (3, 1)
    body = read_eml(pipeline.sent_files()[0]).get_content()
    assert "ALSO telephone" in body and "+81-3-0000-0000" in body


def test_iso_2022_jp_customer_gets_an_iso_2022_jp_ack(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(sender="dan@jis.test", subject="ログインできません"), mail_from="dan@jis.test")
    pipeline.run_until_idle()
    raw = pipeline.sent_files()[0].read_bytes()
    assert b'charset="iso-2022-jp"' in raw and b"=?iso-2022-jp?b?" in raw
    assert "ログインできません" in read_eml(pipeline.sent_files()[0])["Subject"]


def test_same_mail_delivered_twice_is_stored_and_answered_once(pipeline: Pipeline) -> None:
    raw = customer_mail()
    first, second = pipeline.accept(raw), pipeline.accept(raw)
    pipeline.run_until_idle()
    assert second.duplicate and second.inbound_id == first.inbound_id
    assert len(pipeline.incidents()) == 1 and len(pipeline.sent_files()) == 1


def test_out_of_office_from_a_contact_is_ignored_and_never_answered(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(subject="Out of office", headers={"Auto-Submitted": "auto-replied"}))
    pipeline.run_until_idle()
    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.IGNORED, codes.AUTO_SUBMITTED)
    assert pipeline.incidents() == [] and pipeline.outbox() == []


def test_bounce_with_null_sender_is_ignored(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(sender="mailer-daemon@example.test"), mail_from="")
    pipeline.run_until_idle()
    assert pipeline.inbound(accepted.inbound_id).state == codes.IGNORED
    assert pipeline.outbox() == []


def test_our_own_acknowledgement_coming_back_is_ignored(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    echoed = pipeline.accept(pipeline.sent_files()[0].read_bytes(), mail_from="support@support.example.test")
    pipeline.run_until_idle()
    assert (pipeline.inbound(echoed.inbound_id).state, pipeline.inbound(echoed.inbound_id).reason) == \
        (codes.IGNORED, codes.OWN_LOOP)
    assert len(pipeline.outbox()) == 1


def test_unknown_sender_is_held_for_an_operator_and_not_answered(pipeline: Pipeline) -> None:
    accepted = pipeline.accept(customer_mail(sender="mallory@elsewhere.test"), mail_from="mallory@elsewhere.test")
    pipeline.run_until_idle()
    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.QUARANTINED, codes.UNKNOWN_SENDER)
    assert "mallory@elsewhere.test" in (inbound.detail or "")
    assert pipeline.incidents() == [] and pipeline.outbox() == []


def test_unparseable_mail_is_quarantined_and_the_next_mail_still_opens_an_incident(pipeline: Pipeline) -> None:
    bad = pipeline.accept(b"")
    good = pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    assert (pipeline.inbound(bad.inbound_id).state, pipeline.inbound(bad.inbound_id).reason) == \
        (codes.QUARANTINED, codes.UNPARSEABLE)
    assert pipeline.inbound(good.inbound_id).state == codes.PROCESSED


def test_a_failure_while_processing_quarantines_that_mail_with_the_error(
        tmp_path, make_settings, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    from gateway.app import build_app

    templates = tmp_path / "templates"
    for locale in ("en", "ja"):
        (templates / locale).mkdir(parents=True)
        (templates / locale / "ack.txt.j2").write_text(
            "{% block subject %}x{% endblock %}{% block body %}{{ no_such_variable }}{% endblock %}")
    pipeline = Pipeline(build_app(make_settings(gateway={"templates_dir": str(templates)})), sessions, clock)
    accepted = pipeline.accept(customer_mail())
    pipeline.run_until_idle()
    inbound = pipeline.inbound(accepted.inbound_id)
    assert (inbound.state, inbound.reason) == (codes.QUARANTINED, codes.PROCESSING_FAILED)
    assert "no_such_variable" in (inbound.detail or "")
    assert pipeline.incidents() == []  # the failed transaction left nothing half done


def test_subject_with_crlf_cannot_inject_headers_into_the_ack(pipeline: Pipeline) -> None:
    raw = customer_mail(subject="Help").replace(
        b"Subject: Help", b"Subject: =?utf-8?q?Help=0D=0ABcc=3A_victim=40evil=2Etest?=")
    pipeline.accept(raw)
    pipeline.run_until_idle()
    ack = read_eml(pipeline.sent_files()[0])
    assert ack["Bcc"] is None
    assert [row.rcpt_tos for row in pipeline.outbox()] == [["alice@example.test"]]


def test_incident_numbers_count_up_without_gaps(pipeline: Pipeline, clock: FixedClock) -> None:
    for index in range(3):
        pipeline.accept(customer_mail(subject=f"Problem {index}"))
        clock.advance(timedelta(minutes=1))
    pipeline.run_until_idle()
    assert [incident.ref for incident in pipeline.incidents()] == ["INC-000001", "INC-000002", "INC-000003"]


def test_attachments_are_stored_once_by_content(pipeline: Pipeline) -> None:
    from email.message import EmailMessage

    from sqlalchemy import func, select

    from store.incidents import AttachmentBlob, MessageAttachment

    for subject in ("Log attached", "Same log again"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "alice@example.test", "support@support.example.test", subject
        message.set_content("See the log.\n")
        message.add_attachment(b"\x00log-bytes" * 100, maintype="application", subtype="octet-stream",
                               filename="server.log")
        pipeline.accept(message.as_bytes())
    pipeline.run_until_idle()
    with pipeline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AttachmentBlob)) == 1
        names = session.scalars(select(MessageAttachment.filename)).all()
    assert names == ["server.log", "server.log"]


def test_settings_and_cli_contacts_together_over_eight_fail_the_start_with_the_key(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    from gateway.work.directory import sync_customers
    from gateway.settings import SettingsError
    from store.customers import Contact, Customer

    settings = make_settings()
    with sessions.begin() as session:
        sync_customers(session, settings.customers, clock.now())
        demo = session.query(Customer).filter_by(key="demo").one()
        for index in range(7):  # added with `support-gateway customers add-contact`
            session.add(Contact(customer_id=demo.id, address=f"cli{index}@example.test", name="",
                                authorized=True, source="cli", created_at=clock.now()))
    with pytest.raises(SettingsError, match=r"customers\[0\]\.contacts: demo would have 9 authorized"):
        with sessions.begin() as session:
            sync_customers(session, settings.customers, clock.now())


def test_a_big_mail_is_stored_byte_for_byte_and_its_attachment_once_however_often_it_comes(
        pipeline: Pipeline) -> None:
    """Mail and attachments from 1 MiB up are streamed in and out of the store (store.blobs)."""
    from email.message import EmailMessage

    from sqlalchemy import select

    from store.incidents import AttachmentBlob
    from store.inbound import InboundRaw

    dump = bytes(range(256)) * 8192  # 2 MiB
    raws = []
    for number in range(2):
        message = EmailMessage()
        message["From"], message["To"] = "alice@example.test", "support@support.example.test"
        message["Subject"], message["Message-ID"] = f"Dump {number}", f"<dump{number}@example.test>"
        message.set_content("The dump is attached.\n")
        message.add_attachment(dump, maintype="application", subtype="octet-stream", filename="memory.dmp")
        raws.append(message.as_bytes())
    ids = []
    for raw in raws:  # one after the other: the second finds the attachment stored already
        ids.append(pipeline.accept(raw).inbound_id)
        pipeline.run_until_idle()
    assert [pipeline.inbound(i).state for i in ids] == [codes.PROCESSED, codes.PROCESSED]
    with pipeline.sessions() as session:
        stored = dict(session.execute(select(InboundRaw.inbound_id, InboundRaw.raw)).all())
        blobs = session.execute(select(AttachmentBlob.size, AttachmentBlob.data)).all()
    assert [bytes(stored[i]) for i in ids] == raws
    assert [(size, bytes(data)) for size, data in blobs] == [(len(dump), dump)]
