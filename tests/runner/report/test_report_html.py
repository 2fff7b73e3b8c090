"""report.html in a real headless browser (Debian's ``chromium``): it renders, a screenshot shows
the coloured grid, and the page makes no network request.

The browser is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``,
no extra package): the page's own ``Network.requestWillBeSent`` events list every request the
page makes (files and data: URLs included), unlike a proxy log, which also sees the browser's
background traffic. A control page with one external image proves the check sees requests. All
traffic is sent to a proxy port that refuses connections, so nothing leaves the machine.

Skipped only when chromium is not installed; CI runs with STREAMMATRIX_STRICT=1, which turns
that skip into a failure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import DATA
from support.cells import write_cells

from streammatrix.config.model import ClientSpec, Expectation, Matrix, Selector, ServerSpec
from streammatrix.report.build import write_reports

SERVERS = [(f"redis-{v}", "redis", v) for v in ("6.0.20", "6.2.5", "7.0.15", "7.2.4", "7.4.2")]
SERVERS += [(f"redis-8.{m}.{p}", "redis", f"8.{m}.{p}") for m in (0, 2) for p in range(5)]
SERVERS += [(f"valkey-8.{m}.{p}", "valkey", f"8.{m}.{p}") for m in (0, 1) for p in range(1, 6)]
CLIENTS = [
    (f"redis-{v}", v)
    for v in ("3.5.3", "4.0.0", "4.1.0", "4.2.0", "4.3.1", "4.3.4", "4.5.0", "4.6.0", "5.0.8")
] + [("redis-latest", "8.1.0")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs a headless browser: apt-get install chromium"
)

WIDTH, HEIGHT = 1400, 1300
WAIT = 120.0  # seconds before a browser that does not answer fails the test
# Background colours of grid entries (templates/report.html), as the browser paints them.
COLOURS = {
    "pass": (0xDF, 0xF3, 0xDF),
    "fail": (0xF9, 0xD3, 0xD3),
    "unsupported-server": (0xDD, 0xE6, 0xF3),
    "unsupported-client": (0xEB, 0xDF, 0xF5),
    "error": (0xFD, 0xE2, 0xBD),
    "expected-failure": (0xF8, 0xF0, 0xBF),
}


class Browser:
    """Headless chromium spoken to over the DevTools pipe (fd 3 in, fd 4 out, NUL-separated)."""

    def __init__(self, profile: Path, dead_proxy: int) -> None:
        to_read, self._to_write = os.pipe()
        self._from_read, from_write = os.pipe()
        flags = [
            "--headless",
            "--no-sandbox",  # root in a container
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--proxy-server=http://127.0.0.1:{dead_proxy}",
            "--proxy-bypass-list=<-loopback>",
            "--remote-debugging-pipe",
        ]

        def pipe_fds() -> None:  # in the child: our pipe ends become fds 3 and 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_read, from_write)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *flags, "about:blank"],
            preexec_fn=pipe_fds,
            close_fds=False,  # only fds 3 and 4 are inheritable (PEP 446)
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_read)
        os.close(from_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select(
                [self._from_read], [], [], max(0.0, deadline - time.monotonic())
            )
            chunk = os.read(self._from_read, 1 << 16) if ready else b""
            if not chunk:
                raise AssertionError("chromium did not answer (exited or hung)")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + WAIT
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._message(deadline)
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def open(self, url: str) -> str:
        """A new page showing ``url``, loaded to its load event; its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.send("Page.enable", session=session)
        self.send("Network.enable", session=session)
        metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics, session)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        return session

    def requests(self, session: str) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == session
        ]

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return result["result"].get("value")

    def screenshot(self, session: str) -> bytes:
        return base64.b64decode(
            self.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_write)
        os.close(self._from_read)


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:
    # A port bound but never listening: every connection to it is refused.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        chromium = Browser(tmp_path / "profile", closed.getsockname()[1])
        try:
            yield chromium
        finally:
            chromium.close()


def png_pixels(data: bytes) -> tuple[int, int, Counter[tuple[int, int, int]]]:
    """Width, height and colour counts of an 8-bit, non-interlaced RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", ()
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    counts: Counter[tuple[int, int, int]] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        counts.update(zip(line[0::bpp], line[1::bpp], line[2::bpp]))
        previous = line
    return width, height, counts


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    matrix = Matrix(
        path=Path("matrix.yaml"),
        servers=(ServerSpec("redis-7.0", version="7.0.15"),),
        clients=(ClientSpec("redis-5.0", version="5.0.*"),),
        python=("3.11",),
        expected=(Expectation("xreadgroup", Selector("redis<6.2"), Selector("*"), "fail", "bug"),),
    )
    out = tmp_path_factory.mktemp("report")
    return write_reports([DATA / "cells"], out, matrix, None).paths["html"]


def test_the_page_renders_the_grid_and_requests_nothing(report_html, browser, tmp_path):
    url = report_html.as_uri()
    session = browser.open(url)
    assert browser.requests(session) == [url], "the page requested more than itself"
    cells = browser.evaluate(session, "document.querySelectorAll('table.grid td.o').length")
    assert cells == 9 * 8  # features x cells
    fail = browser.evaluate(
        session,
        "getComputedStyle(document.querySelector('table.grid td.o-fail')).backgroundColor",
    )
    assert fail == "rgb(249, 211, 211)"
    text = browser.evaluate(session, "document.querySelector('table.grid').innerText")
    for label in (
        "✔ pass",
        "✘ fail",
        "⊘ server",
        "⊘ client",
        "! error",
        "\u2013 excluded",
        "✔? expected",
    ):
        assert label in text
    shot = tmp_path / "report.png"
    shot.write_bytes(browser.screenshot(session))
    width, height, counts = png_pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    for outcome, colour in COLOURS.items():
        assert counts[colour] > 400, f"no {outcome} entry visible in {shot}"


def test_a_failure_in_the_grid_is_one_click_from_its_message_and_log(report_html, browser):
    session = browser.open(report_html.as_uri())
    link = browser.evaluate(
        session, "document.querySelector('table.grid td.o-fail a').getAttribute('href')"
    )
    assert link.startswith("#")
    session = browser.open(report_html.as_uri() + link)  # what following the link does
    opened = browser.evaluate(
        session,
        f"[document.getElementById('{link[1:]}').closest('details').open,"
        f" document.getElementById('{link[1:]}').innerText]",
    )
    assert opened[0] is True
    assert "deleted ids are returned as a third element" in opened[1]
    assert "The cell's log" in opened[1]


def test_the_check_does_see_what_a_page_requests(browser, tmp_path):
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><link rel="icon" href="data:,"><img src="http://elsewhere.test/x.png">'
    )
    session = browser.open(page.as_uri())
    assert browser.requests(session) == [page.as_uri(), "http://elsewhere.test/x.png"]


@pytest.fixture(scope="module")
def big_html(tmp_path_factory) -> Path:
    """The page of a 200-cell matrix (20 servers x 10 clients) made from a real cell file."""
    root = tmp_path_factory.mktemp("big")
    write_cells(root / "cells", SERVERS, CLIENTS)
    matrix = Matrix(Path("matrix.yaml"), (), (), ("3.11",), required=("trim-minid",))
    return write_reports([root / "cells"], root / "report", matrix, None).paths["html"]


def test_a_200_cell_page_keeps_its_headers_in_view_and_folds_identical_rows(
    big_html, browser, tmp_path
):
    url = big_html.as_uri()
    session = browser.open(url)
    assert browser.requests(session) == [url], "the page requested more than itself"
    assert browser.evaluate(session, "document.querySelectorAll('table.grid thead th').length")
    # Rows identical in every cell are folded: hidden, one line says how many.
    shown = "r => getComputedStyle(r).display !== 'none'"
    count = f"[...document.querySelectorAll('table.grid tr.same')].filter({shown}).length"
    assert browser.evaluate(session, count) == 0
    fold = browser.evaluate(session, "document.querySelector('table.grid tr.fold').innerText")
    assert " features pass in every cell" in fold
    # The filter unfolds every row, without a script or a request.
    assert browser.evaluate(session, "document.getElementById('diff-only').checked") is True
    browser.evaluate(session, "document.querySelector('label[for=diff-only]').click()")
    assert browser.evaluate(session, count) == browser.evaluate(
        session, "document.querySelectorAll('table.grid tr.same').length"
    )
    assert browser.requests(session) == [url]
    # Sticky headers: scroll the grid down and right; the header row and the feature column
    # stay at the grid's top and left edges.
    browser.evaluate(session, "document.getElementById('grid').scrollIntoView()")
    edges = """(() => {
        const wrap = document.querySelector('.grid-wrap');
        wrap.scrollTop = 400; wrap.scrollLeft = 3000;
        const box = wrap.getBoundingClientRect();
        const head = document.querySelector('table.grid thead').getBoundingClientRect();
        const row = document.querySelector('table.grid tbody tr:not(.fold):not(.group)');
        const name = row.querySelector('th.feature').getBoundingClientRect();
        return [wrap.scrollTop, wrap.scrollLeft, head.top - box.top, name.left - box.left];
    })()"""
    top, left, head_offset, name_offset = browser.evaluate(session, edges)
    assert top > 0 and left > 0, "the grid did not scroll: nothing to keep in view"
    assert abs(head_offset) <= 2 and abs(name_offset) <= 2, (head_offset, name_offset)
    shot = tmp_path / "big.png"
    shot.write_bytes(browser.screenshot(session))
    _, _, counts = png_pixels(shot.read_bytes())
    for outcome in ("pass", "fail", "unsupported-server"):
        assert counts[COLOURS[outcome]] > 400, f"no {outcome} entry visible in {shot}"
    browser.evaluate(session, "window.scrollTo(0, 0)")
    (tmp_path / "big-top.png").write_bytes(browser.screenshot(session))
