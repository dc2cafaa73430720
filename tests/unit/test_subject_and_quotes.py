"""Subject prefixes and tags, and the reply text left after quoted history and signatures are removed."""

from __future__ import annotations

import pytest

from parsers.quotes import strip_quotes
from parsers.subject import base_subject, incident_tags, strip_prefixes
from tests.support.replies import QUOTED, reply_body

ORIGINAL = "Dear customer,\nPlease send us the log.\n\n--\nExample Support Desk\n"


@pytest.mark.parametrize("subject", [
    "Re: Backup fails", "RE: Backup fails", "Fwd: Backup fails", "FW: Backup fails", "AW: Backup fails",
    "SV: Backup fails", "VS: Backup fails", "Ｒｅ：Backup fails", "返信: Backup fails", "転送: Backup fails",
    "Re: RE: Fwd: Re: Backup fails", "Re[2]: Backup fails", "RE : Backup fails", "Ｒｅ：　返信：Backup fails",
    "WG: Backup fails", "TR: Backup fails", "Re:Backup fails",
])
def test_reply_and_forward_prefixes_are_stripped_in_any_language_and_width(subject: str) -> None:
    assert strip_prefixes(subject) == "Backup fails"


def test_a_word_that_only_starts_like_a_prefix_is_kept() -> None:
    assert strip_prefixes("Reboot loop after update") == "Reboot loop after update"
    assert strip_prefixes("Server: disk full") == "Server: disk full"


def test_base_subject_also_drops_our_incident_tag_between_prefixes() -> None:
    assert base_subject("Re: [INC-000123] Re: Backup fails") == "Backup fails"


@pytest.mark.parametrize("subject, numbers", [
    ("Re: [INC-000123] Backup fails", (123,)),
    ("［ＩＮＣ－０００１２３］ バックアップ", (123,)),
    ("【INC-000042】 ログ", (42,)),
    ("INC-000123 without brackets", ()),
    ("[INC-1] and [INC-2]", (1, 2)),
])
def test_incident_tags_are_found_in_ascii_full_width_and_japanese_brackets(subject: str,
                                                                           numbers: tuple[int, ...]) -> None:
    assert incident_tags(subject) == numbers


@pytest.mark.parametrize("style", sorted(QUOTED))
def test_each_clients_quoted_history_is_removed_and_the_reply_kept(style: str) -> None:
    text = reply_body(style, "The log is attached.\nRegards", ORIGINAL)
    assert strip_quotes(text) == "The log is attached.\nRegards"


def test_signature_after_the_rfc_3676_separator_is_removed() -> None:
    assert strip_quotes("Restart the service.\n\n-- \nYamada Taro\nVendor KK\n") == "Restart the service."


def test_japanese_signature_framed_by_rules_is_removed() -> None:
    text = "サービスを再起動してください。\n\n━━━━━━━━━━━━\n株式会社ベンダー\nサポート部 山田\n━━━━━━━━━━━━\n"
    assert strip_quotes(text) == "サービスを再起動してください。"


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "On Tue, Support wrote:\n> Which version?\n10.2\n> Which OS?\nWindows Server 2022\n"
    assert strip_quotes(text) == "10.2\nWindows Server 2022"


def test_a_rule_in_the_middle_of_a_long_message_is_not_a_signature() -> None:
    text = "Steps:\n----------\n" + "\n".join(f"step {n}" for n in range(20))
    assert strip_quotes(text) == text


def test_text_that_merely_mentions_from_is_not_a_header_block() -> None:
    text = "From: the logs it looks like a driver problem.\nPlease update."
    assert strip_quotes(text) == text
