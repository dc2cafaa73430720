"""Outgoing mail bytes: our markers, threading headers, safe headers, Japanese encodings."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy

from gateway.outbound.mime import OutgoingMail, build_message, clean_header

AT = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def _mail(**changes: object) -> OutgoingMail:
    values: dict[str, object] = dict(
        mail_from="support@vendor.test", from_name="サポート窓口", to=("a@example.test",),
        subject="[INC-000001] 受付のお知らせ", body="お問い合わせを受け付けました。\n",
        message_id="gw.1@vendor.test", date=AT, in_reply_to="q1@example.test",
        references=("r0@example.test", "q1@example.test"), loop_marker="marker-1",
    )
    values.update(changes)
    return OutgoingMail(**values)  # type: ignore[arg-type]


def _parse(raw: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(raw, policy=policy.default)


def test_outgoing_mail_carries_rfc3834_and_our_loop_markers() -> None:
    parsed = _parse(build_message(_mail()))
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Loop"] == "support@vendor.test"
    assert parsed["X-Support-Gateway-Loop"] == "marker-1"
    assert parsed["Message-ID"] == "<gw.1@vendor.test>"
    assert parsed["In-Reply-To"] == "<q1@example.test>"
    assert parsed["References"] == "<r0@example.test> <q1@example.test>"


def test_lines_end_in_crlf_as_smtp_requires() -> None:
    raw = build_message(_mail())
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_crlf_in_a_subject_from_customer_input_cannot_add_a_header() -> None:
    parsed = _parse(build_message(_mail(subject="Hello\r\nBcc: victim@evil.test", from_name="x\nTo: y@evil.test")))
    assert parsed["Bcc"] is None
    assert parsed.get_all("To") == ["a@example.test"]
    assert "victim@evil.test" in parsed["Subject"]  # kept as text, on one line


def test_iso_2022_jp_customer_gets_iso_2022_jp_headers_and_body() -> None:
    raw = build_message(_mail(charset="iso-2022-jp"))
    assert b'charset="iso-2022-jp"' in raw and b"=?iso-2022-jp?b?" in raw
    parsed = _parse(raw)
    assert parsed["Subject"] == "[INC-000001] 受付のお知らせ"
    assert parsed.get_content().splitlines() == ["お問い合わせを受け付けました。"]


def test_cp50220_characters_fall_back_to_utf8_instead_of_being_lost() -> None:
    parsed = _parse(build_message(_mail(charset="iso-2022-jp", subject="①の件 ㈱テスト")))
    assert parsed.get_content_charset() == "utf-8"
    assert parsed["Subject"] == "①の件 ㈱テスト"


def test_clean_header_removes_every_control_character() -> None:
    assert clean_header("a\r\nb\tc\x00d\u2028e") == "a b c d e"


def test_long_japanese_subject_and_many_references_fold_within_78_characters_and_read_back() -> None:
    subject = "[INC-000001] " + "サーバが毎晩停止する件について（再発）" * 6
    references = tuple(f"ref{i}.{'x' * 20}@example.test" for i in range(30))
    for charset in ("utf-8", "iso-2022-jp"):
        raw = build_message(_mail(subject=subject, references=references, charset=charset,
                                  to=("a@example.test", "tam@example.test")))
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert max(len(line) for line in head.split(b"\r\n")) <= 78
        parsed = _parse(raw)
        assert parsed["Subject"] == subject
        assert parsed["References"].split() == [f"<{ref}>" for ref in references]
        assert [a.addr_spec for a in parsed["To"].addresses] == ["a@example.test", "tam@example.test"]
        assert parsed["From"].addresses[0].display_name == "サポート窓口"
        assert parsed.get_content().splitlines() == ["お問い合わせを受け付けました。"]


def test_a_utf8_body_with_every_kind_of_line_end_reads_back_with_newlines() -> None:
    parsed = _parse(build_message(_mail(body="一行目\r\n二行目\rthree ①\n", charset="utf-8")))
    assert parsed.get_content() == "一行目\n二行目\nthree ①\n"
