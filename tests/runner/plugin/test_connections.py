"""The proof of every connection: a suite written without streammatrix in mind (clients from
REDIS_URL, sync and asyncio, its own pools, a client made at import time, threads) run as a cell
against real servers; what its connections said is read back from the JUnit file.

Redis 7.0 answers ``CLIENT INFO`` with ``resp=``, 6.2 ``HELLO`` without arguments, 6.0 neither
(only the wire type of a reply tells).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import DATA, ROOT
from support import servers as h

from streammatrix.junit import proof
from streammatrix.plugin import connections
from streammatrix.plugin import outcomes as o
from streammatrix.servers.base import serve
from streammatrix.servers.binary.provider import BinaryProvider

pytestmark = pytest.mark.servers

OWN_SUITE = DATA / "own_suite"
HOW = {"redis-6.0": "reply type", "redis-6.2": "HELLO", "redis-7.0": "CLIENT INFO"}

PINNED = '''
import redis
from conftest import REDIS_URL, key


def test_pinned_to_resp2():
    """One connection the suite pins to RESP2 itself, whatever the cell claims."""
    client = redis.from_url(REDIS_URL, protocol=2, decode_responses=True)
    stream = key("pinned")
    client.xadd(stream, {"n": "1"})
    assert client.xlen(stream) == 1
    client.delete(stream)
    client.close()
'''


RESTRICTED = '''
import uuid

import redis
import redis.asyncio
from conftest import REDIS_URL, key


def _user():
    """A user that may run stream commands and nothing else (no CLIENT, HELLO, CONFIG, INFO)."""
    name = f"streamer-{uuid.uuid4().hex[:8]}"
    admin = redis.from_url(REDIS_URL)
    admin.execute_command("ACL", "SETUSER", name, "on", ">pw", "~*", "+@stream")
    admin.close()
    return name


def test_a_stream_only_user():
    client = redis.from_url(REDIS_URL, username=_user(), password="pw")
    assert client.xadd(key("acl"), {"n": "1"})
    client.close()


async def test_a_stream_only_user_asyncio():
    client = redis.asyncio.from_url(REDIS_URL, username=_user(), password="pw")
    assert await client.xadd(key("acl"), {"n": "1"})
    await client.aclose()
'''


@pytest.fixture(scope="module", params=sorted(HOW))
def server(request):
    with h.reachable(), serve(BinaryProvider(), h.by_name(request.param)) as running:
        yield running


def run_cell(
    tmp_path: Path, url: str, claim: str, extra: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str], str]:
    """The own suite as the runner runs a cell: (suite properties, test -> outcome, output)."""
    suite = tmp_path / "suite"
    if not suite.exists():
        shutil.copytree(OWN_SUITE, suite, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in (extra or {}).items():
        (suite / name).write_text(text)
    junit = tmp_path / f"cell-{claim or 'default'}.xml"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_REDIS", "REDIS_URL", "TEST_STREAM", "STREAMMATRIX"))
    }
    env.update(
        {
            "TEST_REDIS_ENABLED": "true",
            "REDIS_URL": url,
            "TEST_STREAM_PREFIX": f"sm:{tmp_path.name}:{claim}:",
            "STREAMMATRIX_CELL": json.dumps({"id": "own"}),
            "PYTHONPATH": str(ROOT / "src"),
            **({"TEST_REDIS_PROTOCOL": claim} if claim else {}),
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "-p", "streammatrix.plugin.pytest_plugin",
         "-p", "no:cacheprovider", f"--junitxml={junit}", "-o", "junit_family=xunit1", "-q"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert junit.exists(), output
    root = ET.parse(junit).getroot()
    node = root if root.tag == "testsuite" else root.find("testsuite")
    assert node is not None
    props = {p.get("name", ""): p.get("value", "") for p in node.findall("./properties/property")}
    tests = {
        c.get("name", ""): {
            p.get("name"): p.get("value") for p in c.findall("./properties/property")
        }.get(o.CASE_OUTCOME, "")
        for c in node.findall("testcase")
    }
    return props, tests, output


@pytest.mark.parametrize("claim", ["2", "3"])
def test_every_connection_of_the_suite_speaks_the_claim(server, tmp_path, claim):
    props, tests, output = run_cell(tmp_path, server.url, claim)
    # the suite asks for no protocol: the claim reached every client it built itself
    assert set(tests.values()) == {o.PASS, o.FAIL}, output  # the fail-once test fails once
    assert tests["test_fails_once"] == o.FAIL
    for kind in connections.KINDS:
        resp = proof.measured(props, kind, "resp")
        assert list(resp) == [claim], (kind, props)
        assert proof.measured(props, kind, "source") == {HOW[server.spec.name]: resp[claim]}
        assert proof.measured(props, kind, "mode") == {"standalone": resp[claim]}
        (parser,) = proof.measured(props, kind, "parser")
        assert parser.startswith("_")  # a parser class of the client, never unknown
    # sync: the fixture's, a pool's own, one from host and port, the import-time client, four
    # threads'; asyncio: the fixture's (twice) and a pool's own
    assert int(props[connections.property_name("sync")]) >= 8, props
    assert int(props[connections.property_name("async")]) >= 3, props
    assert props[o.SUITE_CELL_RESP] == claim
    assert props[o.SUITE_CELL_PROTOCOL] == claim
    environ = {o.ENV_PROTOCOL: claim}
    assert proof.unproven(environ, props, passed=10, refused=0) == ""


def test_without_a_claim_each_connection_speaks_the_clients_default(server, tmp_path):
    import redis

    props, tests, output = run_cell(tmp_path, server.url, "")
    assert o.PASS in tests.values(), output
    # what the installed redis-py negotiates when nobody asks, as its own connection says
    pool = redis.ConnectionPool.from_url(server.url)
    try:
        conn = pool.get_connection()
        spoken = str(conn.protocol)
        pool.release(conn)
    finally:
        pool.disconnect()
    assert props[o.SUITE_CELL_RESP] == spoken, props
    assert o.SUITE_CELL_PROTOCOL not in props
    assert proof.unproven({}, props, passed=10, refused=0) == ""


def test_a_connection_pinned_to_another_protocol_is_caught(server, tmp_path):
    props, tests, output = run_cell(tmp_path, server.url, "3", {"test_pinned.py": PINNED})
    assert tests["test_pinned_to_resp2"] == o.PASS, output  # the test itself passes ...
    resp = proof.measured(props, "sync", "resp")
    assert resp["2"] == 1 and resp["3"] >= 8, props  # ... over one RESP2 connection
    assert proof.measured(props, "async", "resp") == {"3": int(props["connections.async"])}
    why = proof.unproven({o.ENV_PROTOCOL: "3"}, props, passed=10, refused=0)
    total = sum(resp.values())
    assert why == f"claims RESP3 but its sync connections said RESP2 (1 of {total})", why


def test_a_connection_whose_user_may_ask_nothing_is_measured_all_the_same(tmp_path):
    """A suite's own ACL user (``+@stream`` only) may run none of the probes: the server says
    what its connections negotiated in CLIENT LIST, asked aside (Redis 7.0+)."""
    with h.reachable(), serve(BinaryProvider(), h.by_name("redis-7.0")) as running:
        extra = {"test_restricted.py": RESTRICTED}
        props, tests, output = run_cell(tmp_path, running.url, "3", extra)
    assert tests["test_a_stream_only_user"] == o.PASS, output
    assert tests["test_a_stream_only_user_asyncio"] == o.PASS, output
    for kind in connections.KINDS:
        assert list(proof.measured(props, kind, "resp")) == ["3"], (kind, props)
        assert proof.measured(props, kind, "source")[connections.ASIDE] == 1, (kind, props)
        assert list(proof.measured(props, kind, "mode")) == ["standalone"], (kind, props)
    assert proof.unproven({o.ENV_PROTOCOL: "3"}, props, passed=10, refused=0) == ""
