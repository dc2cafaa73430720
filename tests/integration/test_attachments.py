"""Issue 11 in process: files travel both ways, one thread per incident, duplicates processed once."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from gateway import codes
from gateway.app import build_app
from gateway.clock import FixedClock
from tests.conftest import T0
from tests.support.mails import customer_mail
from tests.support.pipeline import Pipeline, read_eml

ENGINEER = "yamada@vendor.test"
QUEUE = "engineers@vendor.test"
LOG = b"2026-11-24 02:00:01 agent: backup failed 0x80070005\n" * 40 + bytes(range(256))
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
PDF_NAME = "バックアップ設定手順書.pdf"


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en"})
    return Pipeline(build_app(settings), sessions, clock)


def sent(pipeline: Pipeline, kind: str) -> list[EmailMessage]:
    return [read_eml(path) for path in pipeline.sent_files() if f"-{kind}-" in path.name
            or path.name.endswith(f"-{kind}.eml")]


def mail_with_files(sender: str, subject: str, body: str, files: list[tuple[str, str, bytes]], *,
                    to: str = "support@support.example.test", message_id: str | None = None,
                    headers: dict[str, str] | None = None, reply_of: EmailMessage | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = format_datetime(T0)
    message["Message-ID"] = message_id or make_msgid(domain=sender.rpartition("@")[2])
    if reply_of is not None:
        message["In-Reply-To"] = str(reply_of["Message-ID"])
        message["References"] = str(reply_of["Message-ID"])
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=policy.SMTP)


def files_of(message: EmailMessage) -> dict[str, bytes]:
    return {str(part.get_filename()): part.get_payload(decode=True) for part in message.iter_attachments()}


def open_with_log(pipeline: Pipeline, sender: str = "alice@example.test") -> EmailMessage:
    pipeline.accept(mail_with_files(sender, "Backup fails", "The nightly backup fails, log attached.\n",
                                    [("agent.log", "text/plain", LOG)]), mail_from=sender)
    pipeline.run_until_idle()
    return sent(pipeline, "notify")[-1]


def engineer_reply(pipeline: Pipeline, notice: EmailMessage, body: str,
                   files: list[tuple[str, str, bytes]] = ()) -> None:  # type: ignore[assignment]
    to = str(notice["Reply-To"])
    raw = mail_with_files(ENGINEER, f"Re: {notice['Subject']}", body, list(files), to=to, reply_of=notice)
    pipeline.accept(raw, mail_from=ENGINEER, rcpt_tos=(to,))
    pipeline.run_until_idle()


def test_a_customer_attachment_rides_on_the_engineers_notice_byte_for_byte(pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline)
    assert files_of(notice) == {"agent.log": LOG}
    assert "agent.log (" in notice.get_body(("plain",)).get_content()


def test_files_over_the_notice_limit_are_listed_with_their_size_and_the_fetch_command(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "en",
                                        "notice_attachments_max_bytes": 1000})
    pipeline = Pipeline(build_app(settings), sessions, clock)
    notice = open_with_log(pipeline)
    text = notice.get_body(("plain",)).get_content()
    assert files_of(notice) == {}
    assert "agent.log (2.3 KB, text/plain)" in text
    assert "support-gateway attachments get INC-000001 agent.log" in text


def test_an_engineer_pdf_with_a_japanese_name_reaches_an_iso_2022_jp_customer_byte_for_byte(
        pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline, sender="dan@jis.test")
    engineer_reply(pipeline, notice, "手順書を添付いたします。", [(PDF_NAME, "application/pdf", PDF)])
    [relay] = sent(pipeline, "relay")
    assert files_of(relay) == {PDF_NAME: PDF}
    [part] = relay.iter_attachments()
    assert "filename*0*=utf-8''%E3%83%90" in str(part["Content-Disposition"]) or \
        "utf-8''" in part.as_string()  # RFC 2231 §4
    assert "=?iso-2022-jp?b?" in part.as_string()  # the legacy name= Japanese mail clients read
    assert relay.get_body(("plain",)).get_content_charset() == "iso-2022-jp"
    assert "手順書を添付いたします。" in relay.get_body(("plain",)).get_content()


def test_hostile_filenames_of_an_engineer_reach_the_customer_cleaned(pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline)
    engineer_reply(pipeline, notice, "See the files.", [
        ("../../etc/passwd", "text/plain", b"root:x:0:0"), ("a\x01b\u202etxt.exe", "application/octet-stream", b"MZ"),
        ("x" * 400 + ".pdf", "application/pdf", PDF)])
    [relay] = sent(pipeline, "relay")
    names = list(files_of(relay))
    assert names[0] == "passwd" and "\x01" not in names[1] and "\u202e" not in names[1]
    assert names[2].endswith(".pdf") and len(names[2]) == 150


def test_an_engineer_reply_of_only_a_file_is_relayed_to_the_customer(pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline)
    engineer_reply(pipeline, notice, "", [("fix.zip", "application/zip", PDF)])
    [relay] = sent(pipeline, "relay")
    assert files_of(relay) == {"fix.zip": PDF}
    assert pipeline.incidents()[0].side == "customer"


def test_an_inline_image_keeps_its_content_id(pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline)
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = ENGINEER, str(notice["Reply-To"]), f"Re: {notice['Subject']}"
    reply["In-Reply-To"] = str(notice["Message-ID"])
    reply.set_content("See the screenshot.")
    reply.add_alternative('<p>See the screenshot.</p><img src="cid:shot1@vendor.test">', subtype="html")
    reply.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\n" + bytes(64), maintype="image", subtype="png",
                                       cid="<shot1@vendor.test>", filename="shot.png")
    pipeline.accept(reply.as_bytes(policy=policy.SMTP), mail_from=ENGINEER, rcpt_tos=(str(notice["Reply-To"]),))
    pipeline.run_until_idle()
    [relay] = sent(pipeline, "relay")
    [image] = [p for p in relay.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<shot1@vendor.test>" and image.get_content_disposition() == "inline"
    html = relay.get_body(("html",))  # the letter's HTML part shows it where it is referred to, by cid:
    assert html is not None and '<img src="cid:shot1@vendor.test"' in html.get_content()
    assert "See the screenshot." in relay.get_body(("plain",)).get_content()


def test_every_engineer_notice_of_an_incident_shares_one_thread(pipeline: Pipeline) -> None:
    first = open_with_log(pipeline)
    engineer_reply(pipeline, first, "Which version do you run?")
    [relay] = sent(pipeline, "relay")
    pipeline.accept(mail_with_files("alice@example.test", f"Re: {relay['Subject']}", "Version 10.2.", [],
                                    reply_of=relay))
    pipeline.run_until_idle()
    notices = [*sent(pipeline, "notify"), *sent(pipeline, "answer-copy")]
    assert len(notices) == 3
    root = str(first["Message-ID"])
    assert first["In-Reply-To"] is None
    assert all(str(n["In-Reply-To"]) == root and root in str(n["References"]) for n in notices[1:])
    assert {str(n["Subject"]) for n in notices} == {"[INC-000001] Demo Corporation Backup fails"}


def test_a_relayed_answer_is_copied_to_the_engineers_queue(pipeline: Pipeline) -> None:
    notice = open_with_log(pipeline)
    engineer_reply(pipeline, notice, "Please restart the agent.", [(PDF_NAME, "application/pdf", PDF)])
    [copy] = sent(pipeline, "answer-copy")
    text = copy.get_content()
    assert copy["To"] == QUEUE and "Please restart the agent." in text
    assert f"{ENGINEER} answered the customer (alice@example.test)" in text and PDF_NAME in text


def test_the_notice_shows_the_requested_severity_its_cue_and_the_response_deadline(pipeline: Pipeline) -> None:
    pipeline.accept(customer_mail(subject="Severity 1: production is down", body="Severity: 1\nAll down.\n"))
    pipeline.run_until_idle()
    text = sent(pipeline, "notify")[-1].get_content()
    assert "Requested: severity 1 by the customer" in text
    assert "Response:  due 2026-11-26 17:00 JST" in text  # severity 3 by the mail rule, on the plan's calendar


def test_the_same_message_id_from_the_same_sender_is_processed_once(pipeline: Pipeline) -> None:
    raw = customer_mail(message_id="<retry-1@example.test>")
    first = pipeline.accept(raw)
    again = pipeline.accept(b"Received: from mx2.example.test by mx.example.test; Tue, 24 Nov 2026\r\n" + raw)
    pipeline.run_until_idle()
    assert len(pipeline.incidents()) == 1 and len(sent(pipeline, "ack")) == 1
    row = pipeline.inbound(again.inbound_id)
    assert (row.state, row.reason) == (codes.IGNORED, codes.DUPLICATE_MESSAGE_ID)
    assert f"inbound {first.inbound_id}" in (row.detail or "")
    later = pipeline.accept(b"Received: from mx3.example.test\r\n" + raw)
    pipeline.run_until_idle()
    assert pipeline.inbound(later.inbound_id).reason == codes.DUPLICATE_MESSAGE_ID


def test_the_same_message_id_from_another_sender_or_after_the_window_is_processed(
        pipeline: Pipeline, clock: FixedClock) -> None:
    pipeline.accept(customer_mail(message_id="<same@example.test>"))
    other = pipeline.accept(customer_mail(sender="bob@example.test", message_id="<same@example.test>"),
                            mail_from="bob@example.test")
    pipeline.run_until_idle()
    assert pipeline.inbound(other.inbound_id).reason == codes.INCIDENT_OPENED
    clock.advance(timedelta(days=8))
    late = pipeline.accept(b"Received: from mx9.example.test\r\n" + customer_mail(message_id="<same@example.test>"))
    pipeline.run_until_idle()
    assert pipeline.inbound(late.inbound_id).state == codes.PROCESSED


def test_an_escalation_letter_to_the_engineers_is_in_the_incidents_thread(pipeline: Pipeline) -> None:
    first = open_with_log(pipeline)
    engineer_reply(pipeline, first, "#escalate\nLooking into it.")
    [escalation] = sent(pipeline, "escalation")
    assert str(escalation["In-Reply-To"]) == str(first["Message-ID"]) == str(escalation["References"])


def test_a_japanese_desk_reads_the_files_the_deadline_and_the_answer_copy_in_japanese(
        make_settings, sessions, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(engineers={"addresses": [ENGINEER], "queue_address": QUEUE, "locale": "ja",
                                        "notice_attachments_max_bytes": 100})
    pipeline = Pipeline(build_app(settings), sessions, clock)
    notice = open_with_log(pipeline)
    text = notice.get_content()
    assert "サイズが大きいため添付していません" in text and "support-gateway attachments get INC-000001 agent.log" in text
    assert "初回回答期限: 2026-11-26 17:00 JST" in text
    engineer_reply(pipeline, notice, "ご確認ください。", [(PDF_NAME, "application/pdf", PDF)])
    [copy] = sent(pipeline, "answer-copy")
    assert "がお客様（alice@example.test）に回答しました" in copy.get_content() and PDF_NAME in copy.get_content()


def test_the_incident_record_shows_which_letters_carried_which_files(pipeline: Pipeline) -> None:
    from gateway.ops.views import show_incident

    notice = open_with_log(pipeline)
    engineer_reply(pipeline, notice, "The guide is attached.", [(PDF_NAME, "application/pdf", PDF)])
    detail = show_incident(pipeline.sessions, "INC-000001")
    assert detail is not None
    carried = {(m["direction"], a["filename"]) for m in detail["messages"] for a in m["attachments"]}
    assert {("in", "agent.log"), ("notify", "agent.log"), ("engineer", PDF_NAME), ("out", PDF_NAME)} <= carried
