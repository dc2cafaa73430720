"""The phrases that move a mail's severity, as compiled patterns (support-programs.md §1, 000 §5.1/§5.2).

gateway.core.severity reads a mail with these; the decisions about which forms
count, and why, are in its docstring. Kept apart because the tables are long and
change for their own reasons (a new phrase, a new language), while the reading
logic does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway.core.patterns import trie

KIND_REQUESTED = "requested-severity"
KIND_SEVERITY_4 = "severity-4"
KIND_PROBLEM = "problem"

# Speed (this runs on every mail at hundreds per second): matching is on lower-cased
# text without re.IGNORECASE; the many cue phrases are merged into one pattern per
# script, grouped by leading characters (`_trie`), so the engine jumps from one
# possible cue start to the next instead of trying every phrase at every character.
# An English cue starts with the space before it: line breaks and brackets are read
# as spaces (`_Text.words`) and a space leads the text, so "How", "(how" and "\nhow"
# match while "show to" does not. `_E` is the matching word end.
_E = r"(?![a-z0-9_])"


def _words(*words: str) -> tuple[str, ...]:
    """English cue alternatives: each word or phrase between a leading space and a word end."""
    return tuple(f" {word}{_E}" for word in words)


def _each(stems: Iterable[str], tail: str) -> tuple[str, ...]:
    return tuple(stem + tail for stem in stems)


# --- severity-4 and problem cues ------------------------------------------------------

_ASK = r"(?:ください|下さい|いただ|頂|もらえ|欲しい|ほしい)"
_WANT = r"(?:ほしい|欲しい|いただきたい|頂きたい)"
# A bare でしょうか is a question, unless it is a polite request to act ("ご確認いただけます
# でしょうか": please check = a service request, level 3 in 002 appendix 1).
_NOT_A_REQUEST = "".join(
    f"(?<!{stem}でしょうか)"
    for stem in ("いただけます", "頂けます", "いただけない", "頂けない", "くださいます", "下さいます",
                 "もらえます", "もらえない")
)
_CANNOT_BUT_HOW_TO = r"(?! (?:find|locate|figure|understand|tell|see how|work out))"

# (kind, rule, alternatives), in match order. Each alternative starts with a literal character.
_CUE_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # How-to questions and suggestions (000 §5.1, level 4).
    (KIND_SEVERITY_4, "how-to:en", _words(
        "how (?:do|can|could|should|would|shall) (?:i|we|you|one|they)", "how to",
    )),
    (KIND_SEVERITY_4, "possible:en", _words(
        "is (?:it|this|that) possible", "is there (?:a|any) (?:way|option|setting)", "is it supported",
        "best practices?", "recommended (?:way|settings?|configuration|procedure)",
    )),
    (KIND_SEVERITY_4, "suggestion:en", _words(
        "feature requests?", "enhancement requests?", "improvement requests?", "change requests?",
        "feature suggestions?", "suggestions?", "would like to suggest", "wish ?list",
    )),
    (KIND_SEVERITY_4, "documentation:en", _words(
        "documentation", "user guide", "admin(?:istrator)?(?:'s)? guide",
    )),
    (KIND_SEVERITY_4, "how-to:ja", (
        "方法を", "教えて" + _ASK, "おしえて" + _ASK, "ご教示", "ご教授", "手順を", "使い方", "やり方",
        "設定方法", "方法(?:は|が)(?:あり|ござい)", "どう(?:すれば|したら|やって)",
        "どのように(?:すれば|したら|設定|使用|利用)",
    )),
    (KIND_SEVERITY_4, "possible:ja", (
        "可能(?:でしょうか|ですか|か)",
        *_each(("でき", "出来"), "(?:ます|る)(?:でしょう|の)?か"),
        *_each(("よい", "良い", "いい", "よろしい", "宜しい"), "(?:の)?(?:でしょう|です)か"),
        *_each(("対応", "サポート"), "(?:して|され(?:て)?)(?:い)?(?:ます|る)(?:の|でしょう)?か"),
    )),
    (KIND_SEVERITY_4, "suggestion:ja", (
        "要望", "機能追加", "機能改善", "改善提案", "機能提案",
        *_each(("追加して", "実装して", "改善して"), _WANT),
    )),
    (KIND_SEVERITY_4, "documentation:ja", (
        "ドキュメント", "マニュアル", "取扱説明書", "管理者ガイド", "ユーザーガイド",
    )),
    (KIND_SEVERITY_4, "question:ja-deshouka", ("でしょうか" + _NOT_A_REQUEST,)),
    # Something is broken: any of these keeps the mail at 3 whatever the how-to cues say.
    (KIND_PROBLEM, "problem:en", (
        # "received this message in error" (mail disclaimers) is not a fault.
        f" errors?{_E}(?<! in error)(?<! in errors)",
        *_words(
            "crash(?:es|ed|ing)?", "fail(?:s|ed|ing|ures?)?", "outage", "broken", "bugs?",
            "hang(?:s|ing)?", "hung", "freez(?:e|es|ing)", "frozen", "bsod", "blue screen", "downtime",
            *_each(("is", "are", "was", "were", "went", "goes", "going", "been", "server", "service", "site",
                    "system", "network"), " down"),
            "not (?:working|responding|starting)", "stopped (?:working|responding)",
            *_each(("doesn['’]t", "does not", "don['’]t", "do not", "won['’]t", "will not", "didn['’]t",
                    "did not"), " (?:work|start|boot|load|open|run|connect|update)"),
            *_each(("cannot", "can['’]t", "can not", "unable to"), _CANNOT_BUT_HOW_TO),
            # Virus incidents (002 appendix 2) count as problems only as an infection, an outbreak,
            # a detection or a false positive: "virus" alone is everyday vocabulary for an
            # anti-virus vendor ("how do I run a virus scan?" is a how-to).
            "infect(?:ed|ion)", "outbreak", "false positives?", *_each(("was", "were", "been"), " detected"),
            "abort(?:s|ed|ing)?", "time(?:d)? out", "timeouts?", "slow(?:ness|er)?", "root cause",
            "workarounds?", "issues",
            # "issue" alone is also a verb ("how do I issue a licence key?").
            *_each(("an", "the", "this", "that", "same", "similar", "known", "following", "our"), " issue"),
        ),
        f" problems?{_E}(?<! no problem)(?<! no problems)",
        # "VPN down", "mail server down." at the end of a clause, but not "shut down", "drop down"...
        r" down(?=[ \t]*(?:[.!?,;:)\-]|$))" + "".join(
            f"(?<! {verb} down)" for verb in ("shut", "scroll", "drop", "pull", "turn", "slow", "count", "step",
                                              "break", "top", "upside", "calm", "cut", "roll", "wind")
        ),
    )),
    (KIND_PROBLEM, "problem:ja", (
        "エラー", "障害", "不具合", "異常(?!なし|はあり|あり|は見られ)", "故障", "失敗", "クラッシュ",
        "フリーズ", "ハング", "ブルースクリーン", "ダウン(?<!シャットダウン)(?:し|状態|中)",
        # 停止 as something that happened, not as an action asked about ("停止する方法", "一時停止").
        "停止(?<!一時停止)(?!する|させ|方法|手順|の(?:方法|手順|仕方))",
        "落ち(?:る|た|て|ま)", "止ま(?:る|っ|り)", "固ま(?:る|っ|り)", "動(?:か|き)(?:ない|ません)",
        "動作(?:しない|しません|不良)", "起動(?:しない|しません)",
        *_each(("でき", "出来"), "(?:ない|なく|ません)(?!か|でしょう)"),
        "使えな", "繋がらな", "つながらな", "届かな", "感染", "誤検知", "誤検出", "タイムアウト",
        *_each(("表示", "反映", "更新", "実行", "適用", "送信", "配信", "起動"), "され(?:な|ません(?!か))"),
        "応答(?:しな|しません|がな|があり?ません)", "動作が(?:遅|重)", "重くな",
        *_each(("異常", "強制", "途中で", "勝手に"), "終了"),
        # Asking for the cause of something, or for a workaround, is reporting a problem.
        "原因", "対処", "回避",
        *_each(("検知", "検出"), "され(?:まし)?た"), "復旧", "問題が(?:発生|起|あり|出)",
    )),
)
# Each alternative ends in an empty group named after it, so `Match.lastgroup` names
# the alternative that matched without a second search.
CUE_MARKS = {
    f"c{rule_no}_{alt_no}": (kind, rule)
    for rule_no, (kind, rule, alts) in enumerate(_CUE_RULES)
    for alt_no in range(len(alts))
}
MARKED = tuple(
    f"{alt}(?P<c{rule_no}_{alt_no}>)"
    for rule_no, (_, _, alts) in enumerate(_CUE_RULES)
    for alt_no, alt in enumerate(alts)
)
# One pass per script: English cues (each after a space) and Japanese cues; the second
# is skipped for ASCII-only text.
CUES_EN = re.compile(trie(alt for alt in MARKED if alt[0] == " "))
CUES_JA = re.compile(trie(alt for alt in MARKED if alt[0] != " "))

# A question in the subject line alone ("Question about licence keys", "設定に関する質問").
SUBJECT_QUESTION = re.compile(r" questions?" + _E + r"|質問")

# Read as spaces before English cues: line breaks, tabs and opening brackets or quotes.
BOUNDARY_CHARS = ("\n", "\r", "\t", "(", "[", "/", '"', "「")


# --- requested severity -----------------------------------------------------------

_URGENT_WORD = "urgent|critical"
_RANGE_AFTER = r"(?![ \t]*[-~〜][ \t]*[0-9])"  # "severity 1-4" names a range, not a request
_NUMBER = r"[0-9]{1,3}(?![0-9])(?!\.[0-9])" + _RANGE_AFTER  # at most 3 digits: int() stays cheap

# Label forms, valid in subject and body: "Severity: 2", "Sev 1", "[Sev1]", "Sev-2",
# "Severity Level 2", "Severity: Critical"...
LABEL_EN = re.compile(
    r"sev(?<![a-z0-9_]sev)(?:erity)?(?:[ \t]*(?:level|lvl))?[ \t]*[:#\-]?[ \t]*"
    r"(?P<value>" + _NUMBER + "|" + _URGENT_WORD + r")(?![a-z])"
)
# ..."重要度：１", "深刻度レベル1", "深刻度「2」", "深刻度は1", "深刻度：緊急".
LABEL_JA = re.compile(
    r"(?:重要度|深刻度)(?:[ \t]*レベル)?[ \t]*(?::|は)?[ \t]*(?:レベル)?[ \t]*[「『\[(]?[ \t]*"
    r"(?P<value>" + _NUMBER + r"|緊急)"
)

# Tags valid anywhere in the subject.
SUBJECT_TAG = re.compile(
    r"(?P<s_token>[\[【][ \t]*s(?P<s_value>[1-4])[ \t]*[\]】])"
    r"|(?P<urgent_bracket>[\[【〔《<(][ \t]*(?:" + _URGENT_WORD + r"|緊急|至急)[ \t]*[\]】〕》>)])"
    r"|(?P<urgent_trailing>[-:|][ \t]*(?:" + _URGENT_WORD + r")[ \t]*!*[ \t]*$)"
    r"|(?P<shikyuu>至急)"
    r"|(?P<kinkyuu>緊急(?!時|度|性|用|パッチ|アップデート|更新|メンテ|連絡|事態|地震|速報))"
)

# Reply/forward prefixes (en, de, nordic, Outlook ja) and leading bracket tags, skipped
# before the forms that must lead the subject ("S1:", "URGENT:", "緊急:").
SUBJECT_PREFIX = re.compile(
    r"[ \t]*(?:(?:(?:re|fw|fwd|aw|wg|sv|vs|回覧|返信|転送)[ \t]*(?:\[[0-9]+\])?[ \t]*:"
    r"|\[[^\]\n]{0,40}\]|【[^】\n]{0,40}】)[ \t]*)*"
)
# Tags valid only at the start of the subject.
SUBJECT_LEAD = re.compile(
    r"(?P<s_token>s(?P<s_value>[1-4])[ \t]*:)|(?P<urgent_lead>urgent" + _E + r"|critical[ \t]*[:!\-])"
)

# Tags valid in the body: the Japanese bracket forms only (a "[CRITICAL]" there is usually a log line).
BODY_TAG = re.compile(r"(?P<urgent_bracket>[【〔《][ \t]*(?:緊急|至急)[ \t]*[】〕》])")

TAG_RULES = {
    "urgent_bracket": "requested:urgent-tag",
    "urgent_trailing": "requested:urgent-tag",
    "urgent_lead": "requested:urgent-tag",
    "shikyuu": "requested:urgent-tag",
    "kinkyuu": "requested:urgent-tag",
}
_URGENT_VALUES = frozenset({"urgent", "critical", "緊急"})


def label_value(text: str) -> int | None:
    """1-4 for a stated level or urgency word, None for anything out of range."""
    if text in _URGENT_VALUES:
        return 1
    value = int(text)
    return value if 1 <= value <= 4 else None
