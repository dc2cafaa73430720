"""The opening-severity rules for mail (support-programs.md §1; Sophos 000 §5.1, §5.2)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core import severity_cues
from gateway.core.model import Cue
from gateway.core.body_head import BODY_HEAD, body_head
from gateway.core.severity import assess_severity


def kinds(subject: str, body: str) -> set[tuple[str, str]]:
    return {(c.kind, c.where) for c in assess_severity(subject, body).cues}


def requested_cues(subject: str, body: str) -> list[Cue]:
    return [c for c in assess_severity(subject, body).cues if c.kind == "requested-severity"]


# --- the headline rule: 3, or 4 for a how-to or a suggestion -------------------------


def test_plain_mail_without_cues_opens_at_severity_3() -> None:
    result = assess_severity("ライセンスの更新について", "更新用の見積もりを送付します。")
    assert (result.severity, result.requested_severity, result.cues) == (3, None, ())


@pytest.mark.parametrize(
    "body",
    [
        "製品の設定方法を教えてください。",
        "除外設定の手順を教えて下さい。",
        "スケジュールスキャンを毎日実行することは可能でしょうか。",
        "管理コンソールから一括で設定できますか。",
        "Windows 11 に対応していますか。",
        "この設定はどちらを選べばよいでしょうか。",
        "ログの保存期間はどこで確認できるでしょうか。",
        "ポリシーの使い方についてご教示ください。",
        "エージェントを一時停止する方法はありますか。",
    ],
)
def test_how_to_question_in_japanese_opens_at_severity_4(body: str) -> None:
    assert assess_severity("お問い合わせ", body).severity == 4


@pytest.mark.parametrize(
    "body",
    [
        "How do I add a folder exclusion to the policy?",
        "How can we schedule a weekly scan?",
        "Is it possible to export the event log as CSV?",
        "Is there a way to hide the tray icon?",
        "What is the recommended configuration for file servers?",
        "How to run a virus scan from the command line?",
    ],
)
def test_how_to_question_in_english_opens_at_severity_4(body: str) -> None:
    assert assess_severity("Console", body).severity == 4


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("機能追加のご要望", "レポートにCSV出力を追加してほしいです。"),
        ("マニュアルの記載について", "管理者ガイドの手順3の画面名が現行版と異なります。"),
        ("ドキュメント改善の提案", "改善提案です。"),
        ("Feature request: dark mode", "Please add a dark mode to the console."),
        ("Enhancement request", "It would help to filter the report by group."),
        ("Documentation", "The user guide does not mention the new proxy setting."),
    ],
)
def test_feature_or_documentation_suggestion_opens_at_severity_4(subject: str, body: str) -> None:
    assert assess_severity(subject, body).severity == 4


@pytest.mark.parametrize("subject", ["Question about licence keys", "ライセンス体系に関する質問"])
def test_question_in_the_subject_opens_at_severity_4(subject: str) -> None:
    assert assess_severity(subject, "よろしくお願いいたします。").severity == 4


def test_question_in_the_body_alone_does_not_make_a_how_to() -> None:
    assert assess_severity("Licence", "I have one question: when does it expire").severity == 3


def test_severity_4_cue_records_its_rule_text_and_place() -> None:
    result = assess_severity("Feature request", "方法を教えてください")
    assert Cue("severity-4", "suggestion:en", "Feature request", "subject") in result.cues
    assert Cue("severity-4", "how-to:ja", "教えてください", "body") in result.cues


# --- problems override how-to cues ----------------------------------------------------


def test_fault_report_ending_in_deshouka_stays_at_severity_3() -> None:
    body = "昨日からサーバーでエラーが出て、サービスが起動しません。原因は何でしょうか。"
    result = assess_severity("サーバーの件", body)
    assert result.severity == 3
    assert ("severity-4", "body") in {(c.kind, c.where) for c in result.cues}
    assert Cue("problem", "problem:ja", "エラー", "body") in result.cues


def test_how_do_i_fix_this_crash_is_a_problem_not_a_how_to() -> None:
    result = assess_severity("How do I fix this crash?", "")
    assert result.severity == 3
    assert kinds("How do I fix this crash?", "") == {("severity-4", "subject"), ("problem", "subject")}


@pytest.mark.parametrize(
    "text",
    [
        "エラーが表示されます。どうすればよいでしょうか。",
        "障害が発生しています。対処方法を教えてください。",
        "アップデート後にサービスが停止しました。回避方法はありますか。",
        "サーバーが落ちる現象の対処方法を教えてください。",
        "エージェントが動かないのですが、確認方法を教えてください。",
        "PCが起動しない場合の手順を教えてください。",
        "管理画面にログインできません。どうしたらよいでしょうか。",
        "ファイルサーバーがダウンしています。復旧手順を教えてください。",
        "誤検知されたファイルを除外する方法を教えてください。",
        "ウイルスに感染した端末の対処方法を教えてください。",
        "How do I recover? The service is down since the update.",
        "Is there a way to stop this error from appearing?",
        "The console is not working. How can I reset it?",
        "Scans fail every night; is it possible to get a debug log?",
        "The agent can't connect. Is there a way to test the proxy?",
        "定時スキャンが途中で終了します。原因と対処方法を教えてください。",
        "ログに警告が出力される原因を教えてください。",
        "回避策はありますか。",
        "Is there a workaround? Scans are aborted after 20 minutes.",
        "How can we find the root cause?",
        "VPN down. How do I restart the tunnel?",
    ],
)
def test_how_to_wording_around_a_problem_stays_at_severity_3(text: str) -> None:
    result = assess_severity("", text)
    assert result.severity == 3
    assert any(c.kind == "problem" for c in result.cues)


@pytest.mark.parametrize(
    "text",
    [
        "エージェントを停止する方法を教えてください。",
        "シャットダウンする手順を教えてください。",
        "インストーラーのダウンロード方法を教えてください。",
        "How do I add an exception for our build folder?",
        "How do I set up failover between the two servers?",
        "How to configure the drop-down list of policies?",
        "I cannot find where to set the proxy. How do I do that?",
        "How do I issue a new licence key?",
        "How do I shut down the agent before patching?",
        "How to add a drop down.",
        "ウイルス定義ファイルの更新方法を教えてください。",
        "No problem if it takes a while: how do I export the policy?",
    ],
)
def test_problem_words_used_for_an_ordinary_how_to_do_not_keep_it_at_3(text: str) -> None:
    assert assess_severity("", text).severity == 4


def test_mail_disclaimer_received_in_error_is_not_a_problem() -> None:
    body = "How do I export the report?\n\nIf you received this message in error, please delete it."
    assert assess_severity("", body).severity == 4


def test_polite_request_to_check_is_a_service_request_not_a_how_to() -> None:
    # "ご確認いただけますでしょうか" asks support to act: Kaspersky calls that a service request (level 3).
    assert assess_severity("ログ送付", "ログを添付しますのでご確認いただけますでしょうか。").severity == 3


# --- the body head: quoted history and signatures do not count ------------------------


def test_quoted_history_does_not_set_severity() -> None:
    body = "ご回答ありがとうございました。\n> 重要度：1\n> エラーが発生しています。\n＞ 設定方法を教えてください\n"
    result = assess_severity("Re: 件", body)
    assert (result.severity, result.requested_severity, result.cues) == (3, None, ())


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----元のメッセージ-----",
        "On Mon, Apr 1, 2024 at 9:30 AM Support <support@vendor.example> wrote:",
        "2024/04/01 9:30 サポート さんは書きました:",
        "-- ",
    ],
)
def test_text_after_a_reply_separator_or_signature_does_not_set_severity(separator: str) -> None:
    body = f"ありがとうございます。\n{separator}\nSeverity: 1\nエラーが発生しています。\n"
    result = assess_severity("Re: 件", body)
    assert (result.requested_severity, result.cues) == (None, ())


def test_reply_separator_with_crlf_line_ends_still_cuts_the_body() -> None:
    body = "Thanks.\r\nOn Mon, Apr 1, 2024 Support wrote:\r\nSeverity: 1\r\n"
    assert assess_severity("Re: x", body).requested_severity is None


def test_only_the_first_2000_characters_of_the_body_are_read() -> None:
    body = "あ" * BODY_HEAD + "重要度：1 エラー"
    assert assess_severity("", body).cues == ()
    assert len(body_head("x" * 100_000)) == BODY_HEAD


def test_quoted_lines_do_not_use_up_the_body_head() -> None:
    body = "> 引用\n" * 400 + "重要度：2\n"
    assert assess_severity("", body).requested_severity == 2


# --- severity the customer states ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Severity: 2", 2),
        ("Severity 2", 2),
        ("severity:1", 1),
        ("SEVERITY : 3", 3),
        ("Sev 1", 1),
        ("Sev-2", 2),
        ("sev4", 4),
        ("Severity Level 2", 2),
        ("Severity: Critical", 1),
        ("Sev: urgent", 1),
    ],
)
def test_english_severity_label_is_recorded_as_requested_severity(text: str, expected: int) -> None:
    result = assess_severity(text, "")
    assert result.requested_severity == expected
    assert result.cues[0].rule == "requested:severity-label"


def test_bracketed_sev1_in_subject_is_requested_not_trusted() -> None:
    result = assess_severity("[Sev1] Console slow", "")
    assert (result.severity, result.requested_severity) == (3, 1)
    assert result.ask_phone
    assert Cue("requested-severity", "requested:severity-label", "Sev1", "subject") in result.cues


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("重要度：１", 1),
        ("重要度: 2", 2),
        ("重要度　：　３", 3),
        ("深刻度：1", 1),
        ("深刻度レベル1", 1),
        ("深刻度レベル：２", 2),
        ("深刻度「2」", 2),
        ("深刻度は1です", 1),
        ("深刻度：緊急", 1),
        ("■重要度：４", 4),
    ],
)
def test_japanese_severity_label_is_recorded_as_requested_severity(text: str, expected: int) -> None:
    result = assess_severity("", f"お世話になっております。\n{text}\n")
    assert result.requested_severity == expected
    assert result.cues[0].rule == "requested:juuyoudo-label"


def test_full_width_juuyoudo_one_is_recorded_as_requested_severity_1() -> None:
    result = assess_severity("", "重要度：１\n")
    assert (result.severity, result.requested_severity) == (3, 1)
    # The cue keeps the text as the customer wrote it, full-width characters included.
    assert result.cues == (Cue("requested-severity", "requested:juuyoudo-label", "重要度：１", "body"),)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("[S1] Server down", 1), ("【S2】 管理画面", 2), ("S1: Server down", 1), ("Re: [ext] S3: slow", 3)],
)
def test_s_token_tag_in_subject_is_recorded_as_requested_severity(subject: str, expected: int) -> None:
    result = assess_severity(subject, "")
    assert result.requested_severity == expected
    assert any(c.rule == "requested:s-token" for c in result.cues)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("AWS S3 bucket scanning", ""),
        ("Amazon Simple Storage Service (S3)", ""),
        ("S1000 appliance firmware", ""),
        ("Upgrade to 10.S1.2", ""),
        ("Models S1 and S2 compared", ""),
        ("Hello", "[S1] in the body is not a tag\nS1: neither"),
    ],
)
def test_s_token_inside_words_names_or_body_is_not_a_request(subject: str, body: str) -> None:
    assert assess_severity(subject, body).requested_severity is None


@pytest.mark.parametrize(
    "subject",
    [
        "【緊急】サーバー停止",
        "[緊急] 全端末でエラー",
        "緊急：管理サーバーが応答しない",
        "緊急対応のお願い",
        "【至急】ライセンス",
        "至急ご確認ください",
        "URGENT: console down",
        "Urgent help needed",
        "[URGENT] agents offline",
        "Re: Fwd: URGENT - scans fail",
        "Agents offline - URGENT",
        "CRITICAL: outbreak",
        "[Critical] outbreak",
    ],
)
def test_urgency_tag_in_subject_is_recorded_as_requested_severity_1(subject: str) -> None:
    result = assess_severity(subject, "")
    assert (result.severity, result.requested_severity) == (3, 1)
    assert any(c.rule == "requested:urgent-tag" for c in result.cues)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("緊急時の連絡先について", ""),
        ("緊急度の考え方", ""),
        ("緊急パッチの適用方法", ""),
        ("緊急アップデートについて", ""),
        ("Not urgent: report layout", ""),
        ("Critical update fails to install", ""),
        ("Question", "Our critical section handling is slow; this is not urgent."),
        ("Log", "[CRITICAL] 2024-04-01 engine stopped"),
        ("ログ", "緊急ではありませんが、至急の対応は不要です。"),
    ],
)
def test_urgency_words_in_free_text_are_not_a_request(subject: str, body: str) -> None:
    assert assess_severity(subject, body).requested_severity is None


def test_japanese_urgency_bracket_in_body_is_recorded_as_requested_severity_1() -> None:
    assert assess_severity("サーバー", "【緊急】\n全端末でスキャンが失敗します。").requested_severity == 1


@pytest.mark.parametrize(
    "text",
    ["P1", "[P1] outage", "Priority: 1", "Priority 1", "優先度：1", "緊急度：1", "レベル1", "Level 1"],
)
def test_priority_and_bare_level_are_not_severity(text: str) -> None:
    result = assess_severity(text, text)
    assert result.requested_severity is None
    assert not any(c.kind == "requested-severity" for c in result.cues)


@pytest.mark.parametrize(
    "text",
    ["Severity: 5", "Sev 0", "重要度：５", "深刻度：0", "Severity: 10", "severity 1-4", "重要度1〜4", "Sev 1.5"],
)
def test_out_of_range_or_range_severity_is_not_a_request_and_leaves_no_cue(text: str) -> None:
    result = assess_severity(text, text)
    assert result.requested_severity is None
    assert requested_cues(text, text) == []


def test_most_urgent_stated_severity_in_one_place_wins() -> None:
    result = assess_severity("", "重要度：3\nSeverity: 2\n")
    assert result.requested_severity == 2
    assert len(requested_cues("", "重要度：3\nSeverity: 2\n")) == 2


def test_severity_stated_in_subject_wins_over_body_and_all_are_recorded() -> None:
    result = assess_severity("Severity 3: slow reports", "Severity: 1\n")
    assert result.requested_severity == 3
    assert [(c.matched, c.where) for c in result.cues if c.kind == "requested-severity"] == [
        ("Severity 3", "subject"),
        ("Severity: 1", "body"),
    ]


def test_requested_severity_never_changes_the_opening_severity() -> None:
    assert assess_severity("Severity: 1", "How do I change the language?").severity == 4
    assert assess_severity("【緊急】", "サービスが停止しています。").severity == 3


def test_requested_severity_3_or_4_does_not_ask_to_phone() -> None:
    assert not assess_severity("Severity: 3", "").ask_phone


def test_repeated_cue_is_recorded_once() -> None:
    body = "エラーです。\nエラーです。\nエラーです。\n"
    assert [c.matched for c in assess_severity("", body).cues] == ["エラー"]


def test_english_cue_next_to_japanese_text_counts_after_a_space_or_line_break() -> None:
    assert assess_severity("", "管理画面で error が出ます").cues[0].matched == "error"
    assert assess_severity("", "管理画面で\nErrorが出ます").cues[0].matched == "Error"


def test_cue_keeps_the_original_case_and_width() -> None:
    result = assess_severity("", "ＨＯＷ　ＴＯ export the log?")
    assert Cue("severity-4", "how-to:en", "ＨＯＷ　ＴＯ", "body") in result.cues


# --- robustness ------------------------------------------------------------------------


@given(st.text(), st.text())
def test_assess_severity_never_raises_and_stays_in_range(subject: str, body: str) -> None:
    result = assess_severity(subject, body)
    assert result.severity in (3, 4)
    assert result.requested_severity in (None, 1, 2, 3, 4)


@given(st.text(alphabet="重要度深刻Severity:：１2345０ 緊急至急【】[]S-\n>", max_size=80))
def test_assess_severity_on_severity_like_text_stays_in_range(text: str) -> None:
    result = assess_severity(text, text)
    assert result.severity in (3, 4)
    assert result.requested_severity in (None, 1, 2, 3, 4)


def test_huge_digit_run_after_a_label_is_not_converted() -> None:
    assert assess_severity("Severity: " + "9" * 10_000, "").requested_severity is None


_FRAGMENTS = st.sampled_from(
    [" ", "\n", "how", " to", " do", " i", "is", " it", " possible", "error", " in", "no ", "problem",
     "issue", "でしょうか", "いただけます", "停止", "一時", "する", "方法", "を", "教えて", "ください",
     "ダウン", "シャット", "し", "でき", "ません", "か", "異常", "なし", "終了", "x", "s", "ed"]
)


@given(st.lists(_FRAGMENTS, max_size=30).map("".join))
def test_merged_cue_patterns_match_like_the_plain_alternation(text: str) -> None:
    # The speed-up in patterns.trie must not change what is found, where, or by which rule.
    for merged, marked in (
        (severity_cues.CUES_EN, [a for a in severity_cues.MARKED if a[0] == " "]),
        (severity_cues.CUES_JA, [a for a in severity_cues.MARKED if a[0] != " "]),
    ):
        plain = re.compile("|".join(marked))
        spans = [(m.span(), m.lastgroup) for m in merged.finditer(text)]
        assert spans == [(m.span(), m.lastgroup) for m in plain.finditer(text)]
