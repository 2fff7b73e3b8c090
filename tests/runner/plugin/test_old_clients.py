"""Real cells with old redis-py releases: a client bug or a missing module shows under the
feature it belongs to, and nowhere else.

One run of the runner (binary provider) on Redis 8.2 with redis-py 3.5.3 and 4.1.4 (no
``redis.asyncio`` before 4.2; 4.0/4.1 take ``idle`` before ``min`` in ``xpending_range``) and
4.2.0 (the first with both), and the newest redis-py, the stream suite as shipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import PY
from support.matrix import copy_suite, write_matrix

from streammatrix.plugin import outcomes

pytestmark = [pytest.mark.servers, pytest.mark.slow]

CLIENTS = {"py353": "3.5.3", "py414": "4.1.4", "py420": "4.2.0", "newest": "latest"}
ASYNC_FEATURES = ("async-xadd", "async-xread", "async-xreadgroup", "async-xread-block")
# Redis 8.2 features whose command tests once checked the pending list with xpending_range
REDIS_82 = ("xackdel", "xdelex", "trim-keepref-delref")


def outcomes_of(path: Path) -> dict[str, tuple[str, str, str]]:
    """test name -> (feature, outcome, reason) of one cell file."""
    root = ET.parse(path).getroot()
    found = {}
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        found[case.get("name", "")] = (
            props.get(outcomes.CASE_FEATURE, ""),
            props.get(outcomes.CASE_OUTCOME, ""),
            props.get(outcomes.CASE_REASON, ""),
        )
    return found


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> dict[str, dict[str, tuple[str, str, str]]]:
    tmp = tmp_path_factory.mktemp("old-clients")
    copy_suite(tmp / "suite")
    config = write_matrix(
        tmp / "matrix.yaml",
        servers=["redis-8.2"],
        clients=[{"name": name, "version": version} for name, version in CLIENTS.items()],
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    done = subprocess.run(
        [
            sys.executable, "-m", "streammatrix", "run", "--config", str(config),
            "--servers", "redis-8.2", "--provider", "binary", "--workers", "1",
            "--report-dir", str(tmp / "report"), "--envdir", str(tmp / "envs"),
        ],
        capture_output=True, text=True, env=env, timeout=1200, check=False,
    )  # fmt: skip
    output = done.stdout[-4000:] + done.stderr[-4000:]
    if "binary source unreachable" in output:
        pytest.skip("binary source unreachable (a failure under STREAMMATRIX_STRICT=1)")
    found = {}
    for name in CLIENTS:
        path = tmp / "report" / "cells" / f"redis-8.2--{name}--py{PY}.xml"
        assert path.is_file(), output
        found[name] = outcomes_of(path)
        assert len(found[name]) >= 45, (name, output)
    return found


def by_feature(cell: dict[str, tuple[str, str, str]], feature: str) -> dict[str, str]:
    return {test: outcome for test, (feat, outcome, _) in cell.items() if feat == feature}


@pytest.mark.parametrize("client", ["py353", "py414"])
def test_no_asyncio_module_is_unsupported_client_in_setup_too(cells, client):
    cell = cells[client]
    for feature in (*ASYNC_FEATURES, "connection-refused-async", "concurrent-consumers-async"):
        tests = by_feature(cell, feature)
        assert tests and set(tests.values()) == {outcomes.UNSUPPORTED_CLIENT}, (feature, tests)
    for feature in ASYNC_FEATURES:
        for test in by_feature(cell, feature):
            assert "redis.asyncio" in cell[test][2], cell[test]


def test_the_asyncio_api_passes_where_the_client_has_it(cells):
    for feature in ASYNC_FEATURES:
        assert set(by_feature(cells["py420"], feature).values()) == {outcomes.PASS}, feature


def test_redis_82_command_tests_do_not_depend_on_xpending_range(cells):
    """The server has every 8.2 feature; only the client decides about the method tests. A bug of
    4.0/4.1's xpending_range must not make the 8.2 features fail."""
    for client in CLIENTS:
        cell = cells[client]
        for feature in REDIS_82:
            tests = by_feature(cell, feature)
            commands = {t: o for t, o in tests.items() if t.endswith("_command")}
            assert commands and set(commands.values()) == {outcomes.PASS}, (client, feature, tests)
            assert outcomes.FAIL not in tests.values(), (client, feature, tests)


def test_xpending_bug_of_4_0_and_4_1_shows_under_xpending_idle_only(cells):
    """The method test of xpending-idle is where 4.1.4's xpending_range signature belongs."""
    cell = cells["py414"]
    (method,) = [t for t in by_feature(cell, "xpending-idle") if t.endswith("_method")]
    assert cell[method][1] == outcomes.FAIL, cell[method]
    failing = {cell[t][0] for t, (_, outcome, _) in cell.items() if outcome == outcomes.FAIL}
    assert not failing & set(REDIS_82), failing


def test_the_newest_client_passes_everything_on_redis_82(cells):
    cell = cells["newest"]
    bad = {t: r for t, r in cell.items() if r[1] in (outcomes.FAIL, outcomes.ERROR)}
    assert not bad, bad
