"""The review's HTML laid out by a real browser (issue 14): Debian's chromium, headless.

A mail client shows the HTML part; a broken layout (a chart that does not
decode, axis titles that end up elsewhere than beside and under the chart, a
page wider than a reading pane, text that is not there) must fail a test, so the
page is rendered by chromium and measured from inside it: a small script writes
the layout and the page's text (what a reader, or a screen reader, gets) into
the DOM that `--dump-dom` prints. A screenshot checks that something was drawn.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.app import build_app
from gateway.clock import FixedClock
from gateway.work.review import figures, render
from tests.integration.test_quarterly_review import SETTINGS, december, jst
from tests.support.pipeline import Pipeline

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/test.sh installs "
                                                          "Debian's chromium package when it is missing)")
WIDTH = 800  # a reading pane
MEASURE = """<script>
window.addEventListener("load", () => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
                                                                      bottom: r.bottom, width: r.width, height: r.height}; };
  const img = document.querySelector("img");
  const cells = [...document.querySelectorAll("td")].filter((td) => !td.querySelector("img") && td.textContent.trim());
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({
    natural: [img.naturalWidth, img.naturalHeight], image: box(img), axes: cells.slice(0, 2).map(box),
    page: document.documentElement.scrollWidth, text: document.body.innerText});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture
def pipeline(make_settings, sessions, clock: FixedClock) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(build_app(make_settings(**SETTINGS)), sessions, clock)


def chromium(tmp_path: Path, page: Path, *extra: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={WIDTH},1400",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def laid_out(tmp_path: Path, page_html: str) -> dict[str, Any]:
    page = tmp_path / "review.html"
    page.write_text(page_html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    match = re.search(r'<pre id="layout">(.*?)</pre>', chromium(tmp_path, page, "--dump-dom"), re.S)
    assert match is not None, "the page never finished loading"
    return json.loads(html.unescape(match.group(1)))  # type: ignore[no-any-return]


def review_html(pipeline: Pipeline, customer_key: str) -> str:
    with pipeline.sessions() as session:
        customer, report = figures(pipeline.app, session, customer_key, "2026Q4", now=jst(12, 3, 10, 30))
        return render(pipeline.app, customer, report).html_standalone()


def assert_chart_with_axes(layout: dict[str, Any]) -> None:
    image, (y_title, x_title) = layout["image"], layout["axes"]
    assert layout["natural"] == [480, 220]  # the PNG decoded
    assert (image["width"], image["height"]) == (480, 220)
    assert y_title["right"] <= image["left"] and y_title["top"] < image["bottom"] and y_title["bottom"] > image["top"]
    assert x_title["top"] >= image["bottom"] and x_title["left"] < image["right"] and x_title["right"] > image["left"]
    assert layout["page"] <= WIDTH  # nothing wider than the reading pane


def test_the_english_review_renders_its_chart_between_labelled_axes(pipeline: Pipeline, tmp_path: Path) -> None:
    december(pipeline)
    layout = laid_out(tmp_path, review_html(pipeline, "acme"))
    assert_chart_with_axes(layout)
    text = layout["text"]
    for words in ("Incidents\n(count)", "Severity (1 = critical … 4 = low)", "■ Opened", "Resolved or closed",
                  "figures to date (as of 2026-12-03 10:30 JST", "Open now: 1",
                  "INC-000002 (severity 3, with us): Agent crash"):
        assert words in text, words


def test_the_japanese_review_renders_in_japanese_with_its_chart(pipeline: Pipeline, tmp_path: Path) -> None:
    december(pipeline, sender="hana@kojima.test")
    layout = laid_out(tmp_path, review_html(pipeline, "kojima"))
    assert_chart_with_axes(layout)
    text = layout["text"]
    for words in ("件数", "深刻度（1＝緊急 … 4＝低）", "■ 受付", "解決・クローズ", "現在対応中のインシデント: 1 件",
                  "INC-000002（深刻度3・弊社対応中）: Agent crash", "2026-10-01 – 2026-12-31"):
        assert words in text, words
    assert not re.search(r"\b(vendor|customer|Opened|Severity)\b", text)


def test_a_screenshot_of_the_review_shows_a_drawn_page_not_a_blank_one(pipeline: Pipeline, tmp_path: Path) -> None:
    december(pipeline)
    page, blank = tmp_path / "review.html", tmp_path / "blank.html"
    page.write_text(review_html(pipeline, "acme"), encoding="utf-8")
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    sizes = []
    for source in (page, blank):
        shot = tmp_path / f"{source.stem}.png"
        chromium(tmp_path, source, f"--screenshot={shot}")
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG") and struct.unpack(">II", data[16:24]) == (WIDTH, 1400)
        sizes.append(len(data))
    assert sizes[0] > 4 * sizes[1], sizes  # chart, tables and text, against an empty page
