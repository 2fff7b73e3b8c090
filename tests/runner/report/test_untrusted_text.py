"""Text from cell files (test names, messages, reasons, cell ids, versions) never becomes markup
in report.md or report.html: the Markdown is rendered the way GitHub renders a job summary
(CommonMark, tables, strikethrough, autolinks) and the result is inspected."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o
from streammatrix.report.build import build_report
from streammatrix.report.views import headline, markdown, render

LINK = "[x](http://e.example)"
IMAGE = "![i](http://e.example/i.png)"
HOSTILE = f"{LINK} {IMAGE} a``b`c | <script>alert(1)</script> **bold** www.e.example ~~s~~ $x$"
TEST_NAME = f"test_`{LINK}`|**bold**"


def gfm(text: str) -> str:
    md = MarkdownIt("gfm-like")  # html on, tables, strikethrough, linkify
    md.linkify.set({"fuzzy_link": True})
    return md.render(text)


class Elements(HTMLParser):
    """Every element of a page with its attributes, and the text of each <code>."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.code: list[str] = []
        self._depth = 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "code":
            self._depth += 1
            self.code.append("")

    def handle_endtag(self, tag):
        if tag == "code":
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.code[-1] += data


def hostile_cells() -> list[CellRecord]:
    ran = CellRecord(
        "redis-7.2--redis-5.0--py3.11",
        Path("ran.xml"),
        {
            o.SUITE_CELL: "redis-7.2--redis-5.0--py3.11",
            o.SUITE_CELL_SERVER: "redis-7.2",
            o.SUITE_CELL_CLIENT: "redis-5.0",
            o.SUITE_CELL_STATUS: o.CELL_OK,
            o.SUITE_SERVER_NAME: "redis",
            o.SUITE_SERVER_VERSION: f"7.2 {IMAGE}",
            o.SUITE_CLIENT_NAME: "redis",
            o.SUITE_CLIENT_VERSION: "5.0|**9**",
            o.SUITE_CELL_LOG: "javascript:alert(1)",
        },
        [
            TestRecord(
                "tests.TestSyncStreamsBasics",
                TEST_NAME,
                f"feature {LINK}",
                o.FAIL,
                message=f"AssertionError: {HOSTILE}\n\nsecond line {LINK}",
            )
        ],
    )
    cell_id = "bad`id|[x](http://e.example)--c--py3.11"
    failed = CellRecord(
        cell_id,
        Path("failed.xml"),
        {
            o.SUITE_CELL: cell_id,
            o.SUITE_CELL_STATUS: o.CELL_ERROR,
            o.SUITE_CELL_REASON: f"server did not start:\n{HOSTILE}",
        },
    )
    return [ran, failed]


def test_untrusted_text_is_no_markup_in_report_md():
    report = build_report(hostile_cells(), None, None)
    page = gfm(render.render_markdown(report))
    tags = Elements(page)
    links = [a.get("href") for tag, a in tags.tags if tag == "a"]
    assert all("e.example" not in (href or "") for href in links), links
    assert all("javascript:" not in (href or "") for href in links), links
    assert not [
        t for t, _ in tags.tags if t in ("img", "script", "s", "del", "h1", "h4", "h5", "hr")
    ]
    bold = re.findall(r"<strong>(.*?)</strong>", page)
    assert "bold" not in bold and "9" not in bold, bold
    assert "<script>" not in page and "&lt;script&gt;" in page
    # Code spans keep the text whole, backticks, pipes and brackets included.
    assert any(TEST_NAME in code for code in tags.code), tags.code
    assert any(code == "bad`id|[x](http://e.example)--c--py3.11" for code in tags.code)
    # Tables keep their columns: no `|` of the text splits a cell.
    for table in re.findall(r"<table>.*?</table>", page, flags=re.S):
        head = len(re.findall(r"<th\b", table.split("</thead>")[0]))
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("</thead>")[1], flags=re.S):
            assert len(re.findall(r"<td\b", row)) == head, row
    # A newline in a message neither ends the list item nor starts a paragraph of its own.
    assert "second line" not in re.findall(r"<p>(second line.*?)</p>", page)


def test_untrusted_text_is_no_markup_in_report_html():
    page = render.render_html(build_report(hostile_cells(), None, None))
    tags = Elements(page)
    links = [a.get("href") or "" for tag, a in tags.tags if tag == "a"]
    assert all("e.example" not in href and "javascript:" not in href for href in links), links
    assert not [t for t, _ in tags.tags if t in ("img", "script")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "text",
    [LINK, IMAGE, "a```b", "`start", "end`", "|", "<script>", "a\nb", "**bold**", HOSTILE],
)
def test_a_code_span_holds_any_text(text):
    (code,) = Elements(gfm(f"- {markdown.code(text)}\n")).code
    assert code == " ".join(text.split())
    (cell,) = Elements(gfm(f"| a |\n|---|\n| {markdown.code_cell(text)} |\n")).code
    assert cell == " ".join(text.split())


@pytest.mark.parametrize("text", [LINK, IMAGE, "a```b", "|", "<script>", "**bold**", HOSTILE])
def test_plain_text_reads_back_as_itself(text):
    page = gfm(f"| a |\n|---|\n| {markdown.text(text)} |\n")
    tags = Elements(page)
    assert [t for t, _ in tags.tags] == ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    cell = re.search(r"<td>(.*)</td>", page).group(1)
    assert html.unescape(cell) == " ".join(text.split())


RLO = "\u202e"  # shows the rest of its line right to left


def test_a_hostile_feature_name_keeps_the_headline_its_lines():
    """A feature that fails everywhere is named in the headline: a newline in its name must
    not add a line (console, report.json "summary"), nor a bidi control reverse the versions
    after it; report.md shows the control as a visible mark, not as reordering."""
    cells = []
    for client in ("4.0.0", "5.0.8"):
        cell_id = f"redis-7.2--redis-{client}--py3.11"
        tests = [
            TestRecord("tests.test_user", "test_ok", "ok", o.PASS),
            TestRecord(
                "tests.test_user", "test_evil", f"new\nline {RLO}evil", o.FAIL, message="x\ny"
            ),
        ]
        props = {
            o.SUITE_CELL: cell_id,
            o.SUITE_CELL_STATUS: o.CELL_OK,
            o.SUITE_SERVER_NAME: "redis",
            o.SUITE_SERVER_VERSION: "7.2.4",
            o.SUITE_CLIENT_NAME: "redis",
            o.SUITE_CLIENT_VERSION: client,
        }
        cells.append(CellRecord(cell_id, Path(f"{cell_id}.xml"), props, tests))
    report = build_report(cells, None, None)
    lines = headline.lines(report)
    assert any("new line" in line for line in lines), lines
    assert all("\n" not in line and RLO not in line for line in lines), lines
    assert len(headline.text(report).splitlines()) == len(lines) <= 3
    page = render.render_markdown(report)
    assert RLO not in page and "\ufffdevil" in page
