"""Internationalised outgoing mail (RFC 6531/6532): raw UTF-8 only where SMTPUTF8 is needed anyway."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_string, policy

from gateway.outbound.mime import OutgoingMail, build_message, left_out_ids, needs_smtputf8

AT = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def _mail(**changes: object) -> OutgoingMail:
    values: dict[str, object] = dict(
        mail_from="support@vendor.test", from_name="サポート窓口", to=("a@example.test",),
        subject="[INC-000001] 受付のお知らせ", body="受け付けました。\n", message_id="gw.1@vendor.test", date=AT,
        in_reply_to="q1@example.test", references=("r0@example.test", "q1@example.test"),
    )
    values.update(changes)
    return OutgoingMail(**values)  # type: ignore[arg-type]


def _parse(raw: bytes):  # type: ignore[no-untyped-def]
    """As an SMTPUTF8 receiver reads it: headers are UTF-8 (RFC 6532 §3)."""
    return message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)


def test_a_letter_to_an_eai_address_needs_smtputf8_and_its_to_header_is_raw_utf8() -> None:
    mail = _mail(to=("üser@example.test",))
    raw = build_message(mail)
    assert needs_smtputf8(mail)
    assert "To: üser@example.test\r\n".encode() in raw
    assert [a.addr_spec for a in _parse(raw)["To"].addresses] == ["üser@example.test"]


def test_an_ascii_letter_leaves_a_utf8_message_id_out_of_its_threading_headers_and_says_which() -> None:
    mail = _mail(in_reply_to="über-1@example.test", references=("r0@example.test", "über-1@example.test"))
    raw = build_message(mail)
    assert not needs_smtputf8(mail) and raw.isascii()
    parsed = _parse(raw)
    assert parsed["In-Reply-To"] is None
    assert parsed["References"] == "<r0@example.test>"
    assert left_out_ids(mail) == ["über-1@example.test"]


def test_a_letter_that_needs_smtputf8_anyway_keeps_the_utf8_message_id() -> None:
    mail = _mail(to=("üser@example.test",), in_reply_to="über-1@example.test", references=("über-1@example.test",))
    parsed = _parse(build_message(mail))
    assert parsed["In-Reply-To"] == "<über-1@example.test>"
    assert parsed["References"] == "<über-1@example.test>"
    assert left_out_ids(mail) == []


def test_garbage_message_ids_are_never_written_and_nothing_raises() -> None:
    garbage = ("a b@example.test", "<x>@y", "x\r\nBcc: v@evil.test", "\udcc3@example.test", "ﾃ", "")
    mail = _mail(in_reply_to=garbage[0], references=garbage)
    parsed = _parse(build_message(mail))
    assert parsed["Bcc"] is None and parsed["In-Reply-To"] is None
    assert parsed["References"] is None
    assert "ﾃ" in left_out_ids(mail)


def test_a_lone_surrogate_in_a_subject_or_body_is_replaced_not_raised() -> None:
    parsed = _parse(build_message(_mail(subject="bad \udcbc byte", body="bad \udcbc byte\n", charset="utf-8")))
    assert parsed["Subject"].split() == ["bad", "byte"]
    assert parsed.get_content() == "bad ? byte\n"
