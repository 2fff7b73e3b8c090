"""Untrusted text in report.md: test names, messages, reasons, cell ids and versions come from
cell files that anybody's suite (or a broken download) wrote, so none of it may become Markdown
markup: no link, image, emphasis, heading, HTML, table column or line break of its own.

GitHub renders report.md (a job summary, a pull-request comment) with CommonMark plus its
extensions: tables, autolinks of bare ``www.``/``http://`` text and e-mail addresses, ``~``
strikethrough and ``$`` maths. :func:`text` backslash-escapes every character that can start
inline markup (CommonMark allows it before any ASCII punctuation), writes ``&``, ``<`` and ``>``
as entities, and escapes the ``:`` of ``://`` and the ``.`` of ``www.`` so that no autolink
starts; punctuation that is harmless in the middle of a line (``.``, ``:``, ``-``, ``#``) stays
as it is, so the file still reads as text. The text is always one line, after a list marker or
inside a table cell, so line-start markup (headings, lists, quotes) cannot begin. Inside a code
span escapes do not work: :func:`code` picks a fence longer than any run of backticks instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

__all__ = ["code", "code_cell", "one_line", "text", "url"]

# Characters written as HTML entities rather than backslash escapes: the same text whatever
# reads the file, and `&` must not start an entity of the text's own.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_INLINE = "\\`*_[]|~$@"  # escapes, code, emphasis, links and images, tables, strike, maths
_ESCAPES = {**{c: "\\" + c for c in _INLINE}, **_ENTITIES}
_MARKUP = re.compile("[" + re.escape(_INLINE + "".join(_ENTITIES)) + "]")
_URL_SCHEME = re.compile(r"(?<=[A-Za-z]):(?=//)")  # http://, ftp://, ...
_WWW = re.compile(r"(?<![A-Za-z0-9])(www)\.", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
# Bidirectional controls reorder what follows them on screen ("Trojan source"): a test name
# holding U+202E would show the rest of its line, versions included, reversed.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
REPLACEMENT = "\ufffd"


def one_line(value: Any) -> str:
    """``value`` as one line: any run of whitespace (newlines included) becomes one space, and
    a bidirectional control becomes a visible U+FFFD."""
    return _BIDI.sub(REPLACEMENT, " ".join(str(value if value is not None else "").split()))


def text(value: Any) -> str:
    """Plain text inside a paragraph, list item or table cell; one line, every mark escaped."""
    escaped = _MARKUP.sub(lambda m: _ESCAPES[m.group()], one_line(value))
    return _WWW.sub(r"\1\\.", _URL_SCHEME.sub(r"\\:", escaped))


def code(value: Any, *, in_table: bool = False) -> str:
    """``value`` as an inline code span, whatever backticks it holds; one line."""
    inner = one_line(value)
    if not inner:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(inner)), default=0) + 1)
    if inner.startswith("`") or inner.endswith("`"):
        inner = f" {inner} "  # one space each side is stripped again by the renderer
    if in_table:
        # A GFM table splits its row at `|` before it sees code spans; `\|` is a pipe in a cell,
        # inside a code span too.
        inner = inner.replace("|", "\\|")
    return f"{fence}{inner}{fence}"


def code_cell(value: Any) -> str:
    """:func:`code` for a table cell."""
    return code(value, in_table=True)


def url(value: Any) -> str:
    """A relative link target (a log file): percent-encoded, so no scheme, space or bracket of
    its own survives (``javascript:x`` becomes the harmless relative path ``javascript%3Ax``)."""
    return quote(one_line(value), safe="/._-~")
