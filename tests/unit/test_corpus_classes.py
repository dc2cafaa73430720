"""Each class of miss of issue 13, on its synthetic example in tests/corpus/classes, through `inspect`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway import codes
from gateway.app import build_app
from gateway.ops.inspect import directory_from_settings, inspect_bytes

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "classes"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
MAILS = {entry["file"]: entry for entry in MANIFEST["mails"]}
NOTICE = MANIFEST["notice_message_id"]

sys.path.insert(0, str(ROOT / "bench"))
from corpus import corpus_settings  # noqa: E402


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    app = build_app(corpus_settings(list(MAILS.values()), tmp_path_factory.mktemp("corpus")), create_secret=False)
    directory = directory_from_settings(app)
    return {name: inspect_bytes(app, (CORPUS / name).read_bytes(), directory, name) for name in MAILS}


def test_every_corpus_mail_is_labelled_with_its_class_and_licence() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(MAILS)
    assert all(m["class"] in ("machine", "human") and m["licence"] for m in MAILS.values())


@pytest.mark.parametrize("name", sorted(n for n, m in MAILS.items() if m["class"] == "machine"))
def test_bounces_auto_replies_and_robots_are_recognised_as_machine_mail(
        inspected: dict[str, dict[str, Any]], name: str) -> None:
    assert inspected[name]["auto"] is not None, inspected[name]["reason"]


@pytest.mark.parametrize("name", sorted(n for n, m in MAILS.items() if m["class"] == "human"))
def test_human_mail_is_never_taken_for_machine_mail(inspected: dict[str, dict[str, Any]], name: str) -> None:
    assert inspected[name]["auto"] is None, inspected[name]["reason"]


@pytest.mark.parametrize("name", sorted(MAILS))
def test_subject_and_from_come_out_as_a_desk_expects(inspected: dict[str, dict[str, Any]], name: str) -> None:
    assert (inspected[name]["subject"], inspected[name]["from"]) == (MAILS[name]["subject"], MAILS[name]["from"])


@pytest.mark.parametrize(("name", "kind", "address", "status"), [
    ("postfix_dsn.eml", "dsn", "bob@example.org", "5.1.1"),
    ("exim_failed.eml", "flufl", "bob@example.org", "5.1.1"),
    ("qmail_failure.eml", "flufl", "bob@example.net", "5.1.1"),
    ("carrier_post_master.eml", "text", "bob@carrier.example", "5.1.1"),
    ("jp_isp_mail_error.eml", "text", "bob@isp.example.jp", "5.1.1"),
    ("apache_james_bounce.eml", "text", "bob@example.org", "5.1.1"),
    ("ses_sns_bounce.eml", "ses", "bob@example.com", "5.1.1"),
])
def test_a_bounce_names_the_failed_recipient_its_status_and_the_notice_it_returns(
        inspected: dict[str, dict[str, Any]], name: str, kind: str, address: str, status: str) -> None:
    bounce = inspected[name]["bounce"]
    assert bounce["kind"] == kind
    assert [(r["address"], r["status"], r["hard"]) for r in bounce["recipients"]] == [(address, status, True)]
    assert NOTICE in bounce["original_message_ids"]


def test_a_delivery_warning_is_a_soft_bounce(inspected: dict[str, dict[str, Any]]) -> None:
    [recipient] = inspected["delivery_warning.eml"]["bounce"]["recipients"]
    assert (recipient["address"], recipient["hard"]) == ("bob@example.com", False)


@pytest.mark.parametrize("name", ["hotmail_complaint.eml", "ses_sns_complaint.eml", "fml_loop_alert.eml"])
def test_complaints_and_loop_alerts_are_bounces_without_hard_failures(
        inspected: dict[str, dict[str, Any]], name: str) -> None:
    result = inspected[name]
    assert result["auto"] == codes.BOUNCE
    assert not any(r["hard"] for r in result["bounce"]["recipients"])


def test_a_bounce_a_person_forwarded_opens_an_incident_with_the_bounce_recorded(
        inspected: dict[str, dict[str, Any]]) -> None:
    result = inspected["forwarded_bounce.eml"]
    assert result["action"] == "open-incident"
    assert [r["address"] for r in result["bounce"]["recipients"]] == ["bob@example.com"]


@pytest.mark.parametrize("name", ["ooo_re_incident.eml", "fuzai_tsuchi.eml", "german_ooo.eml", "french_ooo.eml",
                                  "auto_lotus_notes.eml", "jidou_henshin.eml"])
def test_auto_replies_known_only_by_their_subject_are_ignored(inspected: dict[str, dict[str, Any]], name: str) -> None:
    assert inspected[name]["auto"] == codes.AUTO_REPLY_SUBJECT


@pytest.mark.parametrize("name", ["tmda_challenge.eml", "challenge_response.eml"])
def test_challenge_response_robots_are_ignored(inspected: dict[str, dict[str, Any]], name: str) -> None:
    assert inspected[name]["auto"] == codes.CHALLENGE_RESPONSE


@pytest.mark.parametrize(("name", "source", "defect"), [
    ("from_x_angle_x.eml", "reply-to", "from-fallback:reply-to"),
    ("no_from_sender.eml", "sender", "from-fallback:sender"),
    ("from_bare_words.eml", "from-recovered", "address:from:recovered"),
])
def test_a_from_without_an_address_falls_back_and_says_where_from(
        inspected: dict[str, dict[str, Any]], name: str, source: str, defect: str) -> None:
    result = inspected[name]
    assert result["from_source"] == source and defect in result["defects"]


def test_the_raw_from_text_is_kept_for_display(inspected: dict[str, dict[str, Any]]) -> None:
    assert inspected["from_x_angle_x.eml"]["from_display"] == "x <x>"


def test_human_mail_without_any_sender_is_held_not_taken_for_a_bounce(inspected: dict[str, dict[str, Any]]) -> None:
    result = inspected["no_from_no_fallback.eml"]
    assert (result["action"], result["reason"]) == ("hold", codes.NO_SENDER)


@pytest.mark.parametrize(("name", "quiet"), [
    ("list_mail_contact.eml", codes.PRECEDENCE_BULK),
    ("bulk_mail_contact.eml", codes.PRECEDENCE_BULK),
    ("servicenow_notification.eml", codes.AUTO_SUBMITTED),
    ("jira_notification.eml", codes.AUTO_SUBMITTED),
])
def test_list_mail_and_accepted_notifications_from_contacts_open_unanswered_incidents(
        inspected: dict[str, dict[str, Any]], name: str, quiet: str) -> None:
    result = inspected[name]
    assert (result["action"], result["quiet"]) == ("open-incident", quiet)


def test_the_postmaster_person_opens_an_incident(inspected: dict[str, dict[str, Any]]) -> None:
    assert inspected["postmaster_person.eml"]["action"] == "open-incident"


@pytest.mark.parametrize(("name", "defect"), [
    ("utf8_bom.eml", "header:byte-order-mark"),
    ("original_message_first_line.eml", "header:banner-line-before-headers"),
    ("unindented_continuation.eml", "header:unindented-continuation"),
])
def test_a_repaired_header_section_is_kept_as_a_defect(
        inspected: dict[str, dict[str, Any]], name: str, defect: str) -> None:
    assert defect in inspected[name]["defects"]
    assert inspected[name]["action"] == "open-incident"


def test_headers_after_an_unindented_continuation_are_kept(inspected: dict[str, dict[str, Any]]) -> None:
    assert inspected["unindented_continuation.eml"]["message_id"] == "unindented@example.test"
