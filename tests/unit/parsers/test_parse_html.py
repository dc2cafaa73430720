"""HTML bodies read like the mail the sender typed."""

from __future__ import annotations

import time

import pytest
from parser_mails import BASE, raw_mail

from parsers import parse_mail
from parsers.html import html_to_text


def test_outlook_paragraphs_become_lines_and_nbsp_paragraphs_blank_lines() -> None:
    markup = (
        '<p class=MsoNormal>山田様<o:p></o:p></p>'
        "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        '<p class=MsoNormal><span style="font-family:Meiryo">お世話になっております。</span><o:p></o:p></p>'
    )

    assert html_to_text(markup) == "山田様\n\nお世話になっております。"


def test_gmail_divs_and_br_keep_the_line_structure() -> None:
    assert html_to_text("<div>one</div><div><br></div><div>two<br>three</div>") == "one\n\ntwo\nthree"


def test_quoted_reply_lines_are_prefixed_like_plain_text_quoting() -> None:
    markup = "<div>answer</div><blockquote><div>question</div><blockquote>older</blockquote></blockquote>"

    assert html_to_text(markup) == "answer\n> question\n> > older"


def test_lists_tables_and_rules_are_plain_text() -> None:
    markup = "<ol><li>first<li>second</ol><ul><li>dot</li></ul><table><tr><th>k</th><td>v</td></tr></table><hr>end"

    assert html_to_text(markup) == "1. first\n2. second\n- dot\nk | v\n--------------------\nend"


def test_script_style_head_and_comments_are_not_text() -> None:
    markup = (
        "<html><head><title>t</title><style>.a{}</style></head><body>"
        "<!--[if gte mso 9]><xml><o:shapedefaults/></xml><![endif]-->"
        "<script>var x = '<p>no</p>';</script>visible</body></html>"
    )

    assert html_to_text(markup) == "visible"


def test_entities_are_decoded_and_markdown_characters_left_alone() -> None:
    assert html_to_text("<p>1. a &amp; b &lt;c&gt; *x* _y_ # [z](w) &#x2460; &copy;</p>") == "1. a & b <c> *x* _y_ # [z](w) ① ©"


def test_a_head_that_is_never_closed_does_not_swallow_the_body() -> None:
    assert html_to_text("<html><head><title>x</title><body><p>still here</p></body></html>") == "still here"


def test_preformatted_text_keeps_its_spacing() -> None:
    assert html_to_text("<pre>  col1   col2\n  a      b</pre>after") == "  col1   col2\n  a      b\nafter"


def test_links_keep_their_text_only() -> None:
    assert html_to_text('see <a href="https://x.example/a?b=c">the page</a>.') == "see the page."


def test_stray_angle_brackets_are_text() -> None:
    assert html_to_text("if a < b and c > d") == "if a < b and c > d"


@pytest.mark.parametrize("evil", ["<a" * 100_000, "<!--" + "x" * 200_000, '<p title="' * 50_000, "<" * 200_000])
def test_hostile_markup_is_converted_in_linear_time(evil: str) -> None:
    start = time.perf_counter()
    html_to_text(evil)
    assert time.perf_counter() - start < 2.0


def test_html_part_without_mime_charset_uses_its_meta_charset() -> None:
    markup = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head><body>①番</body></html>'
    raw = raw_mail(BASE + [("Subject", "x"), ("Content-Type", "text/html")], markup.encode("cp932"))

    assert parse_mail(raw).body_text == "①番"
